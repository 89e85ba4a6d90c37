import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { type ErrorCode, type Limits, OpaquePointer } from '@airlock/protocol';
import { isAirlockError } from '../errors/airlock-error.js';
import { createHost } from '../host.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';
import type { LogEntry } from '../options/host-options.js';
import type { OutputLine } from '../output/output-capture.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';
import { CallObserver } from './call-observer.js';
import { type KeptCall, keepInput, openCrashDir, replayCommand } from './crash-store.js';
import { type Minimized, minimize } from './minimize.js';
import { type FailureGroup, type Signature, groupFailures, signatureOf } from './signature.js';
import type { Expectation, HarnessCase, HarnessSpec } from './spec.js';

/** What a call did: its result, or the error it failed with (as AirlockError.toJSON gives it). */
export type CallSettlement = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; signal?: string; exitCode?: number; limit?: string; output?: string[]; [field: string]: unknown } };

/** The outcome of one case: pass or fail against its expectation, with what happened and how long it took. */
export interface CaseOutcome {
  name: string;
  /** `cases` or `corpus[i]`. */
  group: string;
  /** `cases`, or the corpus entry's `name` (its dir as written by default): reports' suites. */
  suite: string;
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
  /** How long the call ran in its worker, in ms: not the wait for a worker to start (a call that never reached one: from issuing to settling). */
  durationMs: number;
  /** The call's last lines of output with their streams (a success's too). */
  output?: OutputLine[];
  /** A failure's signature: the text its group is known by (see `groups`). */
  signature?: string;
  /** A failure's group id (file names under `--crashes` start with it). */
  groupId?: string;
  /** Where `crashes` kept the failing input. */
  kept?: string;
}

/** A group's minimized input: its first input reduced while it still failed with the group's signature. */
export interface MinimizedInput {
  /** The input reduced (a corpus file). */
  from: string;
  fromBytes: number;
  bytes: number;
  /** The reduced input, kept under `crashes` (absent when nothing was smaller). */
  file?: string;
  tries: number;
  /** `done` when no smaller input failed the same way, else the bound that stopped the search. */
  stoppedBy: Minimized['stoppedBy'];
}

/** Failures sharing a signature (code, signal or limit, function, masked last line of output). */
export interface GroupReport extends FailureGroup {
  /** The command that runs the group's first kept input again. */
  replay?: string;
  minimized?: MinimizedInput;
}

/** Totals of a run. */
export interface HarnessSummary {
  /** Cases in the spec (corpus files included). */
  total: number;
  /** Cases that ran (fewer than total only when interrupted). */
  ran: number;
  passed: number;
  failed: number;
  /** Distinct signatures among the failures. */
  groups: number;
  /** Whether the run was interrupted (the signal aborted) before every case ran. */
  interrupted: boolean;
  /** Wall clock of the whole run. */
  durationMs: number;
  workers: number;
  /** How the calls ended: `ok` or an error code, with their counts. */
  actual: Record<string, number>;
}

/** Everything a run produced: outcomes in spec order, the failures grouped, and the summary. */
export interface HarnessRun {
  spec: string;
  library: string;
  startedAt: string;
  summary: HarnessSummary;
  /** The failures by signature, in the order each was first seen. */
  groups: GroupReport[];
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
  /** Called before each group's minimization starts. */
  onMinimize?: (group: GroupReport) => void;
  /** Aborting stops issuing calls and cancels those running; the run resolves with what it has. */
  signal?: AbortSignal;
  /** The sandbox of the run's workers (overrides the spec's). */
  sandbox?: SandboxOptions;
  /** Variables set in the workers' environment, over the spec's `env`. */
  env?: Record<string, string>;
  /** Variables of this process passed to the workers, beside the spec's `passEnv` and LD_LIBRARY_PATH. */
  passEnv?: string[];
  /** A directory (made if missing) to keep each failing corpus input in, with a JSON record beside it. */
  crashes?: string;
  /** Reduce each group's first corpus input while it fails with the same signature, within these bounds. */
  minimize?: { maxTries: number; timeMs: number };
}

/** Bounds of `--minimize` per group, unless given. */
export const MINIMIZE_DEFAULTS = { maxTries: 500, timeMs: 60_000 } as const;

/**
 * Runs every case of a spec on one host with `workers` workers, a bounded number of calls in
 * flight. A case that crashes, hangs or exceeds a limit only settles its own outcome: the run
 * always goes on, and the host is closed (no worker left) before this resolves. Failures are
 * grouped by signature, kept under `crashes` and minimized when asked.
 */
export async function runHarness(spec: HarnessSpec, options: RunHarnessOptions = {}): Promise<HarnessRun> {
  const workers = options.workers ?? spec.workers ?? 1;
  const startedAt = new Date();
  const started = performance.now();
  const crashes = options.crashes === undefined ? undefined : openCrashDir(options.crashes);
  const observer = new CallObserver(options.onLog);
  const passEnv = [...new Set([...DEFAULT_PASS_ENV, ...(spec.passEnv ?? []), ...(options.passEnv ?? [])])];
  const env = { ...spec.env, ...options.env };
  const sandbox = options.sandbox ?? spec.sandbox ?? false;
  const host = createHost({
    workers,
    // Spares once a case has ended its worker: the cases after a crash do not wait for a start.
    standby: 'auto',
    limits: { ...spec.limits, ...options.limits },
    onLog: observer.onLog,
    ...(spec.vaccelArgLayout !== undefined && { vaccelArgLayout: spec.vaccelArgLayout }),
    sandbox,
    env,
    passEnv,
  });
  host.on('call', observer.onCall);
  host.on('worker-exit', (event) => observer.forget(event.pid));
  const outcomes: Array<CaseOutcome | undefined> = new Array(spec.cases.length);
  const signatures = new Map<CaseOutcome, Signature>();
  const caseOf = new Map<CaseOutcome, HarnessCase>();
  let next = 0;
  let settled = 0;
  const signal = options.signal;

  // One call of a case (with `bytes` in place of its file's), contained: it settles, whatever the library does.
  const callCase = async (testCase: HarnessCase, bytes?: Uint8Array): Promise<{ actual: CallSettlement; durationMs: number; output?: OutputLine[] }> => {
    const begin = performance.now();
    let actual: CallSettlement;
    // A signal of its own per call, so the host's listeners never pile up on the run's signal
    // (and the call's worker is found by it).
    const call = new AbortController();
    const abort = (): void => call.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const args = bytes !== undefined ? [bytes] : testCase.file === undefined ? testCase.args : [new Uint8Array(await readFile(testCase.file))];
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
    const observed = observer.take(call.signal, actual.ok ? undefined : (actual.error.workerPid as number | undefined));
    const durationMs = Math.round((observed?.durationMs ?? performance.now() - begin) * 10) / 10;
    return { actual, durationMs, ...(observed !== undefined && { output: observed.output }) };
  };

  const keptCall = (testCase: HarnessCase): KeptCall => ({
    library: spec.library,
    fn: testCase.fn,
    abi: testCase.abi,
    // The limits the call had: the spec's, the run's (the command line's) over them, the case's over both.
    limits: { ...spec.limits, ...options.limits, ...testCase.limits },
    ...(spec.sha256 !== undefined && { sha256: spec.sha256 }),
    ...(spec.vaccelArgLayout !== undefined && { vaccelArgLayout: spec.vaccelArgLayout }),
    ...(Object.keys(env).length > 0 && { env }),
    passEnv,
    ...(sandbox !== false && { sandbox }),
  });

  const keep = async (testCase: HarnessCase, outcome: CaseOutcome, sig: Signature, bytes: Uint8Array, stem: string, minimizedFrom?: string): Promise<string> =>
    keepInput(crashes!, stem, bytes, {
      group: sig.id,
      signature: sig.text,
      outcome: outcome.actual.ok ? { result: outcome.actual.result } : outcome.actual.error,
      expect: testCase.expect,
      reason: outcome.reason ?? '',
      output: outputLines(outcome),
      source: { spec: spec.file, case: outcome.name, ...(testCase.file !== undefined && { file: testCase.file }) },
      call: keptCall(testCase),
      ...(minimizedFrom !== undefined && { minimizedFrom }),
    });

  const runOne = async (testCase: HarnessCase): Promise<CaseOutcome> => {
    const { actual, durationMs, output } = await callCase(testCase);
    const reason = judge(testCase.expect, actual);
    const outcome: CaseOutcome = {
      name: testCase.name,
      group: testCase.group,
      suite: testCase.suite,
      path: testCase.path,
      fn: testCase.fn,
      ...(testCase.file !== undefined && { file: testCase.file }),
      outcome: reason === undefined ? 'pass' : 'fail',
      expect: testCase.expect,
      actual,
      ...(reason !== undefined && { reason }),
      durationMs,
      ...(output !== undefined && output.length > 0 && { output }),
    };
    if (reason === undefined) return outcome;
    caseOf.set(outcome, testCase);
    const sig = signatureOf(actual, testCase.fn, outputLines(outcome));
    signatures.set(outcome, sig);
    outcome.signature = sig.text;
    outcome.groupId = sig.id;
    if (crashes !== undefined && testCase.file !== undefined && !isUnreadable(actual)) {
      outcome.kept = await keep(testCase, outcome, sig, new Uint8Array(await readFile(testCase.file)), sig.id);
    }
    return outcome;
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

  let done: CaseOutcome[] = [];
  let groups: GroupReport[] = [];
  try {
    const lanes = Math.max(1, Math.min(options.concurrency ?? workers, spec.cases.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    done = outcomes.filter((outcome): outcome is CaseOutcome => outcome !== undefined);
    const failures = done.filter((outcome) => outcome.outcome === 'fail');
    groups = groupFailures(failures, (outcome) => signatures.get(outcome)!, (outcome) => outcome.file ?? outcome.name);
    for (const group of groups) {
      const first = failures.find((outcome) => outcome.groupId === group.id && outcome.kept !== undefined);
      if (first !== undefined) group.replay = replayCommand(first.kept!);
    }
    if (options.minimize !== undefined) {
      for (const group of groups) {
        if (signal?.aborted) break;
        const first = failures.find((outcome) => outcome.groupId === group.id && outcome.file !== undefined && !isUnreadable(outcome.actual));
        if (first === undefined) continue;
        const testCase = caseOf.get(first)!;
        options.onMinimize?.(group);
        const original = new Uint8Array(await readFile(first.file!));
        let smallest: CaseOutcome | undefined;
        const found = await minimize(
          original,
          async (candidate) => {
            if (signal?.aborted) return false;
            const { actual, durationMs, output } = await callCase(testCase, candidate);
            const reason = judge(testCase.expect, actual);
            if (reason === undefined) return false;
            const { output: _firstOutput, ...rest } = first;
            const tried: CaseOutcome = { ...rest, actual, reason, durationMs, ...(output !== undefined && output.length > 0 && { output }) };
            if (signatureOf(actual, testCase.fn, outputLines(tried)).text !== group.signature) return false;
            smallest = tried;
            return true;
          },
          { ...options.minimize },
        );
        group.minimized = { from: first.file!, fromBytes: original.length, bytes: found.bytes.length, tries: found.tries, stoppedBy: found.stoppedBy };
        if (crashes !== undefined && smallest !== undefined && found.bytes.length < original.length) {
          group.minimized.file = await keep(testCase, smallest, signatures.get(first)!, found.bytes, `${group.id}-min`, first.kept ?? first.file);
        }
      }
    }
  } finally {
    await host.close();
  }

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
      groups: groups.length,
      interrupted: signal?.aborted ?? false,
      durationMs: Math.round(performance.now() - started),
      workers,
      actual: actualCounts,
    },
    groups,
    outcomes: done,
  };
}

/** An outcome's last lines of output: what was observed, else what its error carries. */
export function outputLines(outcome: Pick<CaseOutcome, 'output' | 'actual'>): string[] {
  if (outcome.output !== undefined) return outcome.output.map((line) => line.line);
  return outcome.actual.ok ? [] : (outcome.actual.error.output ?? []);
}

/** A corpus file that could not be read: nothing to keep or minimize. */
function isUnreadable(actual: CallSettlement): boolean {
  return !actual.ok && actual.error.code === 'INVALID_ARGUMENT' && actual.error.message.startsWith('Cannot read corpus file');
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
