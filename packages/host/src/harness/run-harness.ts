import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { type ErrorCode, type Limits, OpaquePointer } from '@airlock/protocol';
import { isAirlockError } from '../errors/airlock-error.js';
import { createHost } from '../host.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';
import type { LogEntry } from '../options/host-options.js';
import type { Expectation, HarnessCase, HarnessSpec } from './spec.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';

/** What a call did: its result, or the error it failed with (as AirlockError.toJSON gives it). */
export type CallSettlement = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; signal?: string; exitCode?: number; limit?: string; output?: string[]; [field: string]: unknown } };

/** The outcome of one case: pass or fail against its expectation, with what happened and how long it took. */
export interface CaseOutcome {
  name: string;
  /** `cases` or `corpus[i]`. */
  group: string;
  /** Where the case is in the spec: `cases[3]`, `corpus[0]`. */
  path: string;
  fn: string;
  /** A corpus file's path. */
  file?: string;
  outcome: 'pass' | 'fail';
  expect: Expectation;
  actual: CallSettlement;
  /** Why the case failed. */
  reason?: string;
  /** From issuing the call to its settling (includes starting a worker when the slot's last one died). */
  durationMs: number;
}

/** Totals of a run. */
export interface HarnessSummary {
  /** Cases in the spec (corpus files included). */
  total: number;
  /** Cases that ran (fewer than total only when interrupted). */
  ran: number;
  passed: number;
  failed: number;
  /** Whether the run was interrupted (the signal aborted) before every case ran. */
  interrupted: boolean;
  /** Wall clock of the whole run. */
  durationMs: number;
  workers: number;
  /** How the calls ended: `ok` or an error code, with their counts. */
  actual: Record<string, number>;
}

/** Everything a run produced: outcomes in spec order, and the summary. */
export interface HarnessRun {
  spec: string;
  library: string;
  startedAt: string;
  summary: HarnessSummary;
  outcomes: CaseOutcome[];
}

/** Options of runHarness; `workers` and `limits` override the spec's. */
export interface RunHarnessOptions {
  workers?: number;
  limits?: Limits;
  /** Calls in flight at once; default the worker count (the host's pool queues the rest anyway). */
  concurrency?: number;
  /** Receives every line of plugin output. */
  onLog?: (entry: LogEntry) => void;
  /** Called as each case settles, with the count settled so far. */
  onOutcome?: (outcome: CaseOutcome, settled: number, total: number) => void;
  /** Aborting stops issuing calls and cancels those running; the run resolves with what it has. */
  signal?: AbortSignal;
  /** The sandbox of the run's workers (overrides the spec's). */
  sandbox?: SandboxOptions;
  /** Variables set in the workers' environment, over the spec's `env`. */
  env?: Record<string, string>;
  /** Variables of this process passed to the workers, beside the spec's `passEnv` and LD_LIBRARY_PATH. */
  passEnv?: string[];
}

/**
 * Runs every case of a spec on one host with `workers` workers, a bounded number of calls in
 * flight. A case that crashes, hangs or exceeds a limit only settles its own outcome: the run
 * always goes on, and the host is closed (no worker left) before this resolves.
 */
export async function runHarness(spec: HarnessSpec, options: RunHarnessOptions = {}): Promise<HarnessRun> {
  const workers = options.workers ?? spec.workers ?? 1;
  const startedAt = new Date();
  const started = performance.now();
  const host = createHost({
    workers,
    // Spares once a case has ended its worker: the cases after a crash do not wait for a start.
    standby: 'auto',
    limits: { ...spec.limits, ...options.limits },
    ...(options.onLog !== undefined && { onLog: options.onLog }),
    ...(spec.vaccelArgLayout !== undefined && { vaccelArgLayout: spec.vaccelArgLayout }),
    sandbox: options.sandbox ?? spec.sandbox ?? false,
    env: { ...spec.env, ...options.env },
    passEnv: [...new Set([...DEFAULT_PASS_ENV, ...(spec.passEnv ?? []), ...(options.passEnv ?? [])])],
  });
  const outcomes: Array<CaseOutcome | undefined> = new Array(spec.cases.length);
  let next = 0;
  let settled = 0;
  const signal = options.signal;

  const runOne = async (testCase: HarnessCase): Promise<CaseOutcome> => {
    const begin = performance.now();
    let actual: CallSettlement;
    // A signal of its own per call, so the host's listeners never pile up on the run's signal.
    const call = new AbortController();
    const abort = (): void => call.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const args = testCase.file === undefined ? testCase.args : [new Uint8Array(await readFile(testCase.file))];
      const result = await host.call(spec.library, testCase.fn, args, {
        abi: testCase.abi,
        ...testCase.limits,
        ...(spec.sha256 !== undefined && { sha256: spec.sha256 }),
        signal: call.signal,
      });
      actual = { ok: true, result };
    } catch (error) {
      actual = { ok: false, error: settlementError(error, testCase) };
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    const durationMs = Math.round((performance.now() - begin) * 10) / 10;
    const reason = judge(testCase.expect, actual);
    return {
      name: testCase.name,
      group: testCase.group,
      path: testCase.path,
      fn: testCase.fn,
      ...(testCase.file !== undefined && { file: testCase.file }),
      outcome: reason === undefined ? 'pass' : 'fail',
      expect: testCase.expect,
      actual,
      ...(reason !== undefined && { reason }),
      durationMs,
    };
  };

  const lane = async (): Promise<void> => {
    while (next < spec.cases.length && !signal?.aborted) {
      const index = next++;
      const outcome = await runOne(spec.cases[index]!);
      outcomes[index] = outcome;
      settled += 1;
      options.onOutcome?.(outcome, settled, spec.cases.length);
    }
  };

  try {
    const lanes = Math.max(1, Math.min(options.concurrency ?? workers, spec.cases.length));
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    await host.close();
  }

  const done = outcomes.filter((outcome): outcome is CaseOutcome => outcome !== undefined);
  const actualCounts: Record<string, number> = {};
  for (const outcome of done) {
    const key = outcome.actual.ok ? 'ok' : outcome.actual.error.code;
    actualCounts[key] = (actualCounts[key] ?? 0) + 1;
  }
  const passed = done.filter((outcome) => outcome.outcome === 'pass').length;
  return {
    spec: spec.file,
    library: spec.library,
    startedAt: startedAt.toISOString(),
    summary: {
      total: spec.cases.length,
      ran: done.length,
      passed,
      failed: done.length - passed,
      interrupted: signal?.aborted ?? false,
      durationMs: Math.round(performance.now() - started),
      workers,
      actual: actualCounts,
    },
    outcomes: done,
  };
}

function settlementError(error: unknown, testCase: HarnessCase): Extract<CallSettlement, { ok: false }>['error'] {
  if (isAirlockError(error)) return error.toJSON() as Extract<CallSettlement, { ok: false }>['error'];
  const cause = error as NodeJS.ErrnoException;
  if (testCase.file !== undefined && typeof cause?.code === 'string' && cause.syscall !== undefined) {
    return { code: 'INVALID_ARGUMENT', message: `Cannot read corpus file ${testCase.file}: ${cause.message}` };
  }
  return { code: 'PROTOCOL_ERROR', message: `Internal error: ${cause?.stack ?? String(error)}` };
}

/** Why a settlement does not meet an expectation, or undefined when it does. */
export function judge(expect: Expectation, actual: CallSettlement): string | undefined {
  if ('ok' in expect) return actual.ok ? undefined : `expected success, got ${describeSettlement(actual)}`;
  if ('result' in expect) {
    if (!actual.ok) return `expected result ${describeResult(expect.result)}, got ${describeSettlement(actual)}`;
    return sameValue(actual.result, expect.result) ? undefined : `expected result ${describeResult(expect.result)}, got ${describeResult(actual.result)}`;
  }
  const wanted = describeExpectedError(expect);
  if (actual.ok) return `expected ${wanted}, got result ${describeResult(actual.result)}`;
  const { error } = actual;
  const matches =
    error.code === expect.code &&
    (expect.signal === undefined || error.signal === expect.signal) &&
    (expect.limit === undefined || error.limit === expect.limit) &&
    (expect.exitCode === undefined || error.exitCode === expect.exitCode) &&
    (expect.message === undefined || error.message.includes(expect.message));
  return matches ? undefined : `expected ${wanted}, got ${describeSettlement(actual)}`;
}

function describeExpectedError(expect: Extract<Expectation, { code: ErrorCode }>): string {
  const extra = [expect.signal, expect.limit && `limit ${expect.limit}`, expect.exitCode !== undefined && `exit ${expect.exitCode}`, expect.message !== undefined && `message containing ${JSON.stringify(expect.message)}`].filter(Boolean);
  return `${expect.code}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

/** `CRASHED SIGSEGV`, `LIMIT_EXCEEDED memory`, `PLUGIN_ERROR: message`, or the result. */
export function describeSettlement(actual: CallSettlement, withMessage = true): string {
  if (actual.ok) return describeResult(actual.result);
  const { error } = actual;
  const extra = [error.signal, error.limit, error.exitCode !== undefined && `exit ${error.exitCode}`].filter(Boolean).join(' ');
  return `${error.code}${extra ? ` ${extra}` : ''}${withMessage ? `: ${error.message}` : ''}`;
}

/** A result as JSON-like text: strings quoted, bigints as literals, bytes as hex, cut at 80 characters. */
export function describeResult(value: unknown): string {
  let text: string;
  if (value === undefined || value === null) text = 'null';
  else if (typeof value === 'bigint') text = value.toString();
  else if (value instanceof Uint8Array) text = `hex:${Buffer.from(value).toString('hex')}`;
  else if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) text = Object.is(value, -0) ? '-0' : String(value);
  else {
    text =
      JSON.stringify(value, (_key, item: unknown) => {
        if (typeof item === 'bigint') return `${item}n`;
        if (item instanceof Uint8Array) return `hex:${Buffer.from(item).toString('hex')}`;
        if (ArrayBuffer.isView(item)) return Array.from(item as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' ? `${n}n` : n));
        if (item instanceof OpaquePointer) return item.toString();
        if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
        return item;
      }) ?? String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Deep equality for results: numbers and bigints compare by value (`5` equals `5n`), NaN equals
 * NaN, null equals undefined, typed arrays compare element by element with arrays, objects
 * by the same keys.
 */
export function sameValue(actual: unknown, expected: unknown): boolean {
  if (actual === undefined) actual = null;
  if (expected === undefined) expected = null;
  if (isNumeric(actual) && isNumeric(expected)) return sameNumber(actual, expected);
  if (isListLike(actual) && isListLike(expected)) {
    if (actual.length !== expected.length) return false;
    for (let i = 0; i < actual.length; i += 1) if (!sameValue(actual[i], expected[i])) return false;
    return true;
  }
  if (actual instanceof OpaquePointer || expected instanceof OpaquePointer) return String(actual) === String(expected);
  if (isPlainRecord(actual) && isPlainRecord(expected)) {
    const keys = Object.keys(actual);
    if (keys.length !== Object.keys(expected).length) return false;
    return keys.every((key) => Object.hasOwn(expected, key) && sameValue(actual[key], expected[key]));
  }
  return actual === expected;
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function sameNumber(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  const [n, big] = typeof a === 'bigint' ? [b, a] : [a, b as bigint];
  if (typeof n === 'bigint') return n === big;
  return Number.isInteger(n) && BigInt(n) === big;
}

function isListLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}
