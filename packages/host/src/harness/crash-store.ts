// `--crashes DIR`: every failing input is copied there, named by its group and its content, with
// a JSON file beside it saying what it did and how to run it again (`plugin-run harness --replay`).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Abi, Limits } from '@airlock/protocol';
import { parseResultJson, toResultJson } from '../output/result-json.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';
import type { Expectation } from './spec.js';

/** Marks a sidecar as one of ours (and its format's version). */
export const KEPT_KIND = 'airlock-harness-input/1';

/** What a replay needs to make the same call again, as the run that kept the input made it. */
export interface KeptCall {
  library: string;
  fn: string;
  abi: Abi;
  /** The spec's limits with the case's over them (not the command line's). */
  limits: Limits;
  sha256?: string;
  vaccelArgLayout?: string;
  env?: Record<string, string>;
  passEnv?: string[];
  sandbox?: SandboxOptions;
}

/** The JSON file kept beside an input: `<input>.json`. */
export interface KeptRecord {
  kind: typeof KEPT_KIND;
  /** The group's id and signature. */
  group: string;
  signature: string;
  /** How the call ended: the error (code, signal, limit, exitCode, message), or `{ result }`. */
  outcome: Record<string, unknown>;
  expect: Expectation;
  reason: string;
  /** The plugin's last lines of output. */
  output: string[];
  /** Where the input came from. */
  source: { spec: string; case: string; file?: string };
  call: KeptCall;
  bytes: number;
  sha256: string;
  /** For a minimized input: the kept input it was reduced from. */
  minimizedFrom?: string;
  /** The command that runs the input again. */
  replay: string;
}

/** The command line that replays a kept input. */
export function replayCommand(file: string): string {
  return `plugin-run harness --replay ${shellQuote(file)}`;
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Opens (creating) the directory kept inputs go to; throws an Error naming the path when it is
 * a file or cannot be made.
 */
export function openCrashDir(dir: string): string {
  const path = resolve(dir);
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing !== undefined && !existing.isDirectory()) throw new Error(`--crashes ${JSON.stringify(dir)} is not a directory (expected a directory to keep failing inputs in, made if missing)`);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new Error(`--crashes ${JSON.stringify(dir)}: cannot make the directory: ${(error as Error).message}`);
  }
  return path;
}

/** `<stem>-<16 hex digits of the content's sha256>` (the stem: a group's id): the same input in the same group is kept once. */
export function keptName(stem: string, bytes: Uint8Array): string {
  return `${stem}-${sha256(bytes).slice(0, 16)}`;
}

/**
 * Writes `bytes` as `<stem>-<hash>` into `dir` with its record beside it (completed with size,
 * hash and replay command); returns the input's path. Files are written under a temporary name
 * and renamed, so that a reader never sees half an input. An input kept already stays as it is.
 */
export async function keepInput(dir: string, stem: string, bytes: Uint8Array, record: Omit<KeptRecord, 'kind' | 'bytes' | 'sha256' | 'replay'>): Promise<string> {
  const file = join(dir, keptName(stem, bytes));
  if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  const full: KeptRecord = { kind: KEPT_KIND, ...record, bytes: bytes.length, sha256: sha256(bytes), replay: replayCommand(file) };
  await writeAtomically(`${file}.json`, `${toResultJson(full)}\n`);
  await writeAtomically(file, bytes);
  return file;
}

async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

/**
 * Reads a kept input and its record for `--replay`: FILE is the input or its `.json`. Throws an
 * Error naming the file and what was expected when either is missing or not ours.
 */
export function readKept(file: string): { input: string; bytes: Uint8Array; record: KeptRecord } {
  const input = resolve(file.endsWith('.json') ? file.slice(0, -'.json'.length) : file);
  const expected = 'expected an input kept by --crashes, with its .json beside it';
  const read = (path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`--replay ${JSON.stringify(file)}: ${code === 'ENOENT' ? `no such file ${path}` : code === 'EISDIR' ? `${path} is a directory` : (error as Error).message} (${expected})`);
    }
  };
  const bytes = new Uint8Array(read(input));
  let record: KeptRecord;
  try {
    record = parseResultJson(read(`${input}.json`).toString('utf8')) as KeptRecord;
  } catch (error) {
    if ((error as Error).message.startsWith('--replay')) throw error;
    throw new Error(`--replay ${JSON.stringify(file)}: ${input}.json is not valid JSON (${expected})`);
  }
  if (typeof record !== 'object' || record === null || record.kind !== KEPT_KIND || typeof record.call?.library !== 'string' || typeof record.call?.fn !== 'string') {
    throw new Error(`--replay ${JSON.stringify(file)}: ${input}.json is not a record of a kept input (${expected})`);
  }
  return { input, bytes, record };
}

/** The hex sha256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
