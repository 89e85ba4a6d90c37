import { performance } from 'node:perf_hooks';
import type { Limits } from '@airlock/protocol';
import { type LogEntry, type WorkerGroup, workerCount } from '../options/host-options.js';
import type { OutputLine } from '../output/output-capture.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';
import { CaseRunner } from './case-runner.js';
import { openCrashDir } from './crash-store.js';
import type { CallSettlement } from './judge.js';
import type { Minimized } from './minimize.js';
import type { FailureGroup } from './signature.js';
import type { Expectation, HarnessSpec } from './spec.js';

export { outputLines } from './case-runner.js';
export { type CallSettlement, describeResult, describeSettlement, judge, sameValue } from './judge.js';

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
  /** The worker that ran the call: its pid (on this machine: a launched worker's is its transport's) and where it runs. */
  worker?: CaseWorker;
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

/** Where a case ran: `local`, or the launcher of its worker's group (`ssh build-box`). */
export interface CaseWorker {
  pid: number;
  where: string;
}

/** A group's minimized input: its first input reduced while it still failed with the group's signature. */
export interface MinimizedInput {
  /** The input reduced: a corpus file, or where a fuzzer's input was kept. */
  from?: string;
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

/** Options of runHarness; `workers`, `ship` and `limits` override the spec's. */
export interface RunHarnessOptions {
  /** A number of local workers, or groups of local and launched ones (createHost's `workers`). */
  workers?: number | WorkerGroup[];
  /** Ships the library to launched workers by its content (createHost's `ship`). */
  ship?: boolean;
  limits?: Limits;
  /** Calls in flight at once: at most (and by default) the worker count, one call per worker, so that each call's observed time and output are its own. */
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

/**
 * Runs every case of a spec on one host with `workers` workers, a bounded number of calls in
 * flight. A case that crashes, hangs or exceeds a limit only settles its own outcome: the run
 * always goes on, and the host is closed (no worker left) before this resolves. Failures are
 * grouped by signature, kept under `crashes` and minimized when asked.
 */
export async function runHarness(spec: HarnessSpec, options: RunHarnessOptions = {}): Promise<HarnessRun> {
  const pool = options.workers ?? spec.workers ?? 1;
  const workers = workerCount(pool);
  const ship = options.ship ?? spec.ship;
  const startedAt = new Date();
  const started = performance.now();
  const crashes = options.crashes === undefined ? undefined : openCrashDir(options.crashes);
  const signal = options.signal;
  const runner = new CaseRunner(spec, {
    workers: pool,
    ...(ship !== undefined && { ship }),
    ...(options.limits !== undefined && { limits: options.limits }),
    ...(options.onLog !== undefined && { onLog: options.onLog }),
    ...(options.sandbox !== undefined && { sandbox: options.sandbox }),
    ...(options.env !== undefined && { env: options.env }),
    ...(options.passEnv !== undefined && { passEnv: options.passEnv }),
    ...(crashes !== undefined && { crashes }),
    ...(signal !== undefined && { signal }),
  });
  const outcomes: Array<CaseOutcome | undefined> = new Array(spec.cases.length);
  let next = 0;
  let settled = 0;

  const lane = async (): Promise<void> => {
    while (next < spec.cases.length && !signal?.aborted) {
      const index = next++;
      const outcome = await runner.run(spec.cases[index]!);
      if (outcome.outcome === 'fail') await runner.keep(outcome);
      outcomes[index] = outcome;
      settled += 1;
      options.onOutcome?.(outcome, settled, spec.cases.length);
    }
  };

  let done: CaseOutcome[] = [];
  let groups: GroupReport[] = [];
  try {
    const lanes = Math.max(1, Math.min(options.concurrency ?? workers, workers, spec.cases.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    done = outcomes.filter((outcome): outcome is CaseOutcome => outcome !== undefined);
    const failures = done.filter((outcome) => outcome.outcome === 'fail');
    groups = runner.group(failures);
    if (options.minimize !== undefined) await runner.minimizeGroups(groups, failures, options.minimize, options.onMinimize);
  } finally {
    await runner.close();
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
