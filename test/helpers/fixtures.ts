import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { AirlockError } from '@airlock/host';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the test set-up builds the native fixtures. */
export const BUILD = join(ROOT, 'test/fixtures/build');

/** Path of a built fixture library `lib<name>.so`; fails loudly if the set-up did not build it. */
export function fixture(name: string): string {
  const path = join(BUILD, `lib${name}.so`);
  if (!existsSync(path)) throw new Error(`Fixture ${path} is missing: run \`npm test\` (it builds fixtures first) or \`npm run fixtures\``);
  return path;
}

/** The CLI's entry script. */
export const CLI = join(ROOT, 'packages/host/dist/cli/main.js');

/** Runs plugin-run synchronously; returns status, stdout and stderr. */
export function pluginRun(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stdout: string; stderr: string; signal?: string };
    if (e.status === null) throw new Error(`plugin-run ${args.join(' ')} did not exit (signal ${e.signal})`);
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Pids of processes whose command line contains `marker` (excluding this process). */
export function processesMatching(marker: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => pid !== process.pid);
}

/**
 * Whether a process is alive (zombies count as gone). Read in this process: a helper process
 * that could not be started on a loaded machine would otherwise read as "dead".
 */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return false;
    throw error;
  }
  return !/\) Z /.test(stat);
}

/** Waits until `check` is true or `timeoutMs` passes; returns the last result. */
export async function eventually(check: () => boolean, timeoutMs = 5000, intervalMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}

/** The AirlockError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function failure(promise: Promise<unknown>): Promise<AirlockError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('value' in outcome) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  expect(outcome.error).toBeInstanceOf(AirlockError);
  return outcome.error as AirlockError;
}

