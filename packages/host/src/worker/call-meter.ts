import type { ErrorCode } from '@airlock/protocol';
import type { CallOutcome, RunRequest } from './call-types.js';
import { readCpuMs, readPeakResidentBytes } from './proc-reader.js';

/** One settled call, as the host's `'call'` event reports it. */
export interface CallEvent {
  library: string;
  fn: string;
  /** `'ok'`, or the error's code. */
  outcome: 'ok' | ErrorCode;
  /** From when the call started running in its worker (not while it waited) to when it settled; 0 if it never ran. */
  durationMs: number;
  /** CPU the worker (and the children it reaped) used meanwhile, in ms (the kernel counts it in 10 ms ticks); undefined if it never ran. */
  cpuMs: number | undefined;
  /** The worker's resident high-water mark (VmHWM) when the call settled; undefined if it never ran. */
  peakRssBytes: number | undefined;
  /** The worker that ran it; undefined when the call never reached one. */
  workerPid: number | undefined;
  /** The call's output, its last lines, with the host's `callOutput` option (on success too). */
  output?: string[];
}

/** Errors of calls a worker's meter has reported (the host reports the others: calls that never reached a worker). */
const reported = new WeakSet<object>();

/** Whether a worker's meter has reported the call that failed with this error. */
export function wasReported(error: unknown): boolean {
  return typeof error === 'object' && error !== null && reported.has(error);
}

/** What a watching host is told by its workers. */
export interface WorkerMonitor {
  /** Whether calls are to be measured (CPU and memory: a few reads of /proc per call), i.e. someone listens. */
  measuring(): boolean;
  /** Whether calls' events carry their output. */
  readonly withOutput: boolean;
  /** A call settled (every one that reached a worker, measured or not). */
  callSettled(event: CallEvent): void;
  /** A call settled and nobody listens for its event: only its outcome is counted. */
  callCounted(outcome: CallEvent['outcome']): void;
  /** A worker retires: it serves no more calls, and ends once those it has settle. */
  workerRetired(pid: number, reason: string): void;
}

/**
 * Measures the calls of one worker for its monitor: when each starts running (the worker runs
 * them one at a time) and how each settles. A call that never ran (cancelled while it waited)
 * is reported with a duration of 0; one that never started there (NotStarted) is not reported,
 * since it runs elsewhere.
 */
export class CallMeter {
  /** The call running now: its sequence number, when it started, the worker's CPU then. */
  private running: { seq: number; at: number; cpuMs: number | undefined } | undefined;

  constructor(
    /** The worker's pid (a sandboxed worker's is known once it has answered its handshake). */
    private readonly pid: () => number,
    readonly monitor: WorkerMonitor,
    /** The running call's output so far (its last lines). */
    private readonly lines: () => string[],
  ) {}

  /** Call `seq` starts running. */
  started(seq: number): void {
    this.running = { seq, at: performance.now(), cpuMs: this.monitor.measuring() ? readCpuMs(this.pid()) : undefined };
  }

  /** The run, with its settle() reporting each call to the monitor first. */
  wrap(spec: RunRequest, first: number, isNotStarted: (outcome: CallOutcome) => boolean): RunRequest {
    const settle = spec.settle;
    return {
      ...spec,
      settle: (index, outcome) => {
        if (!isNotStarted(outcome)) this.report(spec, first + index, outcome);
        settle(index, outcome);
      },
    };
  }

  private report(spec: RunRequest, seq: number, outcome: CallOutcome): void {
    if ('error' in outcome) reported.add(outcome.error);
    // Nobody listens (the hot path's common case): no event to build.
    if (!this.monitor.measuring()) return this.monitor.callCounted('error' in outcome ? outcome.error.code : 'ok');
    const ran = this.running !== undefined && this.running.seq === seq;
    const pid = this.pid();
    const cpuNow = ran ? readCpuMs(pid) : undefined;
    this.monitor.callSettled({
      library: spec.call.library,
      fn: spec.call.fn,
      outcome: 'error' in outcome ? outcome.error.code : 'ok',
      durationMs: ran ? performance.now() - this.running!.at : 0,
      cpuMs: cpuNow !== undefined && this.running!.cpuMs !== undefined ? Math.max(0, cpuNow - this.running!.cpuMs) : undefined,
      peakRssBytes: ran ? readPeakResidentBytes(pid) : undefined,
      workerPid: pid,
      ...(ran && this.monitor.withOutput && { output: this.lines() }),
    });
  }
}
