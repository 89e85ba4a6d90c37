// One host running cases for the harness and the fuzzer: a call per case (contained: it settles
// whatever the library does), judged, its failure signed and, when asked, kept; and the
// minimization of a group's first input by more calls on the same host.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Limits } from '@airlock/protocol';
import { isAirlockError } from '../errors/airlock-error.js';
import { type Host, createHost } from '../host.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';
import type { LogEntry, WorkerGroup } from '../options/host-options.js';
import type { OutputLine } from '../output/output-capture.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';
import { CallObserver } from './call-observer.js';
import { type KeptCall, keepInput, replayCommand } from './crash-store.js';
import { type CallSettlement, judge } from './judge.js';
import { minimize } from './minimize.js';
import type { CaseOutcome, CaseWorker, GroupReport } from './run-harness.js';
import { type Signature, groupFailures, signatureOf } from './signature.js';
import type { HarnessCase, HarnessSpec } from './spec.js';

/** What the runner takes of a spec: everything but its cases. */
export type RunnerTarget = Omit<HarnessSpec, 'cases' | 'corpora'>;

/** The host's settings, over the target's. */
export interface RunnerOptions {
  workers: number | WorkerGroup[];
  /** Ships the library to launched workers. */
  ship?: boolean;
  limits?: Limits;
  onLog?: (entry: LogEntry) => void;
  sandbox?: SandboxOptions;
  env?: Record<string, string>;
  passEnv?: string[];
  /** An opened directory (crash-store's openCrashDir) for `keep`. */
  crashes?: string;
  /** Aborting cancels the calls running and makes minimizations stop. */
  signal?: AbortSignal;
}

/** One call's settlement, its time in its worker and its output. */
export interface CallResult {
  actual: CallSettlement;
  durationMs: number;
  output?: OutputLine[];
  /** The worker that ran it, if one took it. */
  worker?: CaseWorker;
}

/** Runs cases on one host (closed by `close`). */
export class CaseRunner {
  private readonly host: Host;
  private readonly observer: CallObserver;
  private readonly env: Record<string, string>;
  private readonly passEnv: string[];
  private readonly sandbox: SandboxOptions;
  /** Each failure's signature, case and input bytes when they were not its file's. */
  private readonly failures = new WeakMap<CaseOutcome, { signature: Signature; testCase: HarnessCase; bytes?: Uint8Array }>();

  constructor(
    private readonly target: RunnerTarget,
    private readonly options: RunnerOptions,
  ) {
    this.observer = new CallObserver(options.onLog);
    this.passEnv = [...new Set([...DEFAULT_PASS_ENV, ...(target.passEnv ?? []), ...(options.passEnv ?? [])])];
    this.env = { ...target.env, ...options.env };
    this.sandbox = options.sandbox ?? target.sandbox ?? false;
    this.host = createHost({
      workers: options.workers,
      ...(options.ship !== undefined && { ship: options.ship }),
      // Spares once a case has ended its worker: the cases after a crash do not wait for a start.
      standby: 'auto',
      limits: { ...target.limits, ...options.limits },
      onLog: this.observer.onLog,
      ...(target.vaccelArgLayout !== undefined && { vaccelArgLayout: target.vaccelArgLayout }),
      sandbox: this.sandbox,
      env: this.env,
      passEnv: this.passEnv,
    });
    // (No 'call' listener: listening makes the host read each call's CPU and memory from /proc.)
    this.host.on('worker-exit', (event) => this.observer.forget(event.pid));
  }

  /** Makes a case's call (with `bytes` in place of its file's, if given). */
  async call(testCase: HarnessCase, bytes?: Uint8Array): Promise<CallResult> {
    const begin = performance.now();
    const signal = this.options.signal;
    let actual: CallSettlement;
    // A signal of its own per call, so the host's listeners never pile up on the run's signal
    // (and the call's worker is found by it).
    const call = new AbortController();
    const abort = (): void => call.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const args = bytes !== undefined ? [bytes] : testCase.file === undefined ? testCase.args : [new Uint8Array(await readFile(testCase.file))];
      const result = await this.host.call(this.target.library, testCase.fn, args, {
        abi: testCase.abi,
        ...testCase.limits,
        ...(this.target.sha256 !== undefined && { sha256: this.target.sha256 }),
        signal: call.signal,
      });
      actual = { ok: true, result };
    } catch (error) {
      actual = { ok: false, error: settlementError(error, testCase) };
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    const observed = await this.observer.take(call.signal);
    const durationMs = Math.round((observed?.durationMs ?? performance.now() - begin) * 10) / 10;
    return { actual, durationMs, ...(observed !== undefined && { output: observed.output, worker: observed.worker }) };
  }

  /** Runs a case (with `bytes` as its input, if given) and judges it; a failure gets its signature. */
  async run(testCase: HarnessCase, bytes?: Uint8Array): Promise<CaseOutcome> {
    const { actual, durationMs, output, worker } = await this.call(testCase, bytes);
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
      ...(worker !== undefined && { worker }),
      durationMs,
      ...(output !== undefined && output.length > 0 && { output }),
    };
    if (reason === undefined) return outcome;
    const signature = signatureOf(actual, testCase.fn, outputLines(outcome));
    this.failures.set(outcome, { signature, testCase, ...(bytes !== undefined && { bytes }) });
    outcome.signature = signature.text;
    outcome.groupId = signature.id;
    return outcome;
  }

  /** Keeps a failure's input under `crashes` (a corpus file's, or the bytes it ran with) and records where. */
  async keep(outcome: CaseOutcome): Promise<void> {
    const failure = this.failures.get(outcome);
    if (this.options.crashes === undefined || failure === undefined || isUnreadable(outcome.actual)) return;
    const bytes = failure.bytes ?? (outcome.file !== undefined ? new Uint8Array(await readFile(outcome.file)) : undefined);
    if (bytes === undefined) return;
    outcome.kept = await this.keepBytes(failure.testCase, outcome, failure.signature, bytes, failure.signature.id);
  }

  /** The failures grouped by signature, each with the replay command of its first kept input. */
  group(failures: readonly CaseOutcome[]): GroupReport[] {
    const groups: GroupReport[] = groupFailures(failures, (outcome) => this.failures.get(outcome)!.signature, (outcome) => outcome.file ?? outcome.kept ?? outcome.name);
    for (const group of groups) {
      const first = failures.find((outcome) => outcome.groupId === group.id && outcome.kept !== undefined);
      if (first !== undefined) group.replay = replayCommand(first.kept!);
    }
    return groups;
  }

  /**
   * Reduces each group's first input (a corpus file, or bytes the fuzzer made) while it still
   * fails with the group's signature, within the bounds; the smallest is kept as
   * `<group id>-min-<hash>` and reported in `group.minimized`.
   */
  async minimizeGroups(groups: GroupReport[], failures: readonly CaseOutcome[], bounds: { maxTries: number; timeMs: number }, onMinimize?: (group: GroupReport) => void): Promise<void> {
    const signal = this.options.signal;
    for (const group of groups) {
      if (signal?.aborted) break;
      const first = failures.find((outcome) => outcome.groupId === group.id && (outcome.file !== undefined || this.failures.get(outcome)?.bytes !== undefined) && !isUnreadable(outcome.actual));
      const failure = first === undefined ? undefined : this.failures.get(first);
      if (first === undefined || failure === undefined) continue;
      onMinimize?.(group);
      const original = failure.bytes ?? new Uint8Array(await readFile(first.file!));
      let smallest: CaseOutcome | undefined;
      const found = await minimize(
        original,
        async (candidate) => {
          if (signal?.aborted) return false;
          const { actual, durationMs, output } = await this.call(failure.testCase, candidate);
          const reason = judge(failure.testCase.expect, actual);
          if (reason === undefined) return false;
          const { output: _first, ...rest } = first;
          const tried: CaseOutcome = { ...rest, actual, reason, durationMs, ...(output !== undefined && output.length > 0 && { output }) };
          if (signatureOf(actual, failure.testCase.fn, outputLines(tried)).text !== group.signature) return false;
          smallest = tried;
          return true;
        },
        bounds,
      );
      // The input reduced: the corpus file, or (a fuzzer's input) where it was kept.
      const from = first.file ?? first.kept;
      group.minimized = { ...(from !== undefined && { from }), fromBytes: original.length, bytes: found.bytes.length, tries: found.tries, stoppedBy: found.stoppedBy };
      if (this.options.crashes !== undefined && smallest !== undefined && found.bytes.length < original.length) {
        group.minimized.file = await this.keepBytes(failure.testCase, smallest, failure.signature, found.bytes, `${group.id}-min`, first.kept ?? first.file);
      }
    }
  }

  /** Closes the host: no worker is left when this resolves. */
  close(): Promise<void> {
    return this.host.close();
  }

  private keepBytes(testCase: HarnessCase, outcome: CaseOutcome, signature: Signature, bytes: Uint8Array, stem: string, minimizedFrom?: string): Promise<string> {
    return keepInput(this.options.crashes!, stem, bytes, {
      group: signature.id,
      signature: signature.text,
      outcome: outcome.actual.ok ? { result: outcome.actual.result } : outcome.actual.error,
      expect: testCase.expect,
      reason: outcome.reason ?? '',
      output: outputLines(outcome),
      source: { spec: this.target.file, case: outcome.name, ...(testCase.file !== undefined && { file: testCase.file }) },
      call: this.keptCall(testCase),
      ...(minimizedFrom !== undefined && { minimizedFrom }),
    });
  }

  private keptCall(testCase: HarnessCase): KeptCall {
    return {
      library: this.target.library,
      fn: testCase.fn,
      abi: testCase.abi,
      // The limits the call had: the target's, the run's (the command line's) over them, the case's over both.
      limits: { ...this.target.limits, ...this.options.limits, ...testCase.limits },
      ...(this.target.sha256 !== undefined && { sha256: this.target.sha256 }),
      ...(this.target.vaccelArgLayout !== undefined && { vaccelArgLayout: this.target.vaccelArgLayout }),
      ...(Object.keys(this.env).length > 0 && { env: this.env }),
      passEnv: this.passEnv,
      ...(this.sandbox !== false && { sandbox: this.sandbox }),
    };
  }
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
