// Per-call facts the host's promise does not carry: how long the call ran once a worker took it
// (not the wait for a worker to start) and the lines it wrote, by stream, also when it
// succeeded. The worker and the moment it took the call come from observe/call-worker.ts; the
// lines from the host's onLog, each stamped as it arrives: a call's lines are its worker's lines
// since it took the call. Callers keep one call in flight per worker (the harness's lanes), so
// that the lines of a worker in that time are the call's alone.
import { performance } from 'node:perf_hooks';
import { callWorker } from '../observe/call-worker.js';
import type { LogEntry } from '../options/host-options.js';
import type { OutputLine } from '../output/output-capture.js';

/** Lines kept per call (the host keeps as many for an error's `output`). */
const KEPT_LINES = 20;

/** What was observed of one settled call. */
export interface ObservedCall {
  /** From when a worker took it to when it settled, in ms. */
  durationMs: number;
  /** Its last lines of output, each with its stream. */
  output: OutputLine[];
  /** The worker that took it and where that worker runs. */
  worker: { pid: number; where: string };
}

/** Keeps each worker's last lines with when they arrived. */
export class CallObserver {
  private readonly lines = new Map<number, Array<OutputLine & { at: number }>>();
  /** Workers that have ended: their lines go once their last call has taken them. */
  private readonly ended = new Set<number>();

  constructor(private readonly forward?: (entry: LogEntry) => void) {}

  /** The host's `onLog`: keeps the line for its worker, then passes it on. */
  readonly onLog = (entry: LogEntry): void => {
    let lines = this.lines.get(entry.workerPid);
    if (lines === undefined) this.lines.set(entry.workerPid, (lines = []));
    lines.push({ stream: entry.stream, line: entry.line, at: performance.now() });
    if (lines.length > KEPT_LINES) lines.shift();
    this.forward?.(entry);
  };

  /**
   * The facts of the settled call made with `signal`, or undefined when no worker took it.
   * Waits for the event loop's turn to end first: a success's outcome may be read in the same
   * turn as, and before, its last output.
   */
  async take(signal: AbortSignal): Promise<ObservedCall | undefined> {
    const settledAt = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    const taken = callWorker(signal);
    if (taken === undefined) return undefined;
    const output = (this.lines.get(taken.pid) ?? []).filter((line) => line.at >= taken.at).map(({ stream, line }) => ({ stream, line }));
    if (this.ended.delete(taken.pid)) this.lines.delete(taken.pid);
    return { durationMs: settledAt - taken.at, output, worker: { pid: taken.pid, where: taken.where } };
  }

  /** A worker has ended: its lines are dropped once its last call has taken them. */
  forget(pid: number): void {
    if (this.lines.has(pid)) this.ended.add(pid);
  }
}
