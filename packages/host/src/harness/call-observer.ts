// Per-call facts the host's promise does not carry: how long the call ran in its worker (not
// counting the wait for a worker to start) and the lines it wrote, by stream, also when it
// succeeded. Both come from the host's events, matched to the call through its worker
// (observe/call-worker.ts): a worker runs one call at a time and reports it ('call' event)
// just before the call's promise settles, after its output has been read. Callers keep one call
// in flight per worker (the harness's lanes): two calls of one worker settling in one turn would
// leave only the second's facts to take.
import type { CallEvent } from '../worker/call-meter.js';
import { callWorker } from '../observe/call-worker.js';
import type { LogEntry } from '../options/host-options.js';
import type { OutputLine } from '../output/output-capture.js';

/** Lines kept per call (the host keeps as many for an error's `output`). */
const KEPT_LINES = 20;

/** What was observed of one settled call. */
export interface ObservedCall {
  /** From when it started running in its worker to when it settled, in ms. */
  durationMs: number;
  /** Its last lines of output, each with its stream. */
  output: OutputLine[];
}

/** Collects output per worker and takes each call's facts as its 'call' event reports it. */
export class CallObserver {
  /** Lines of each worker's current call, before its event. */
  private readonly lines = new Map<number, OutputLine[]>();
  /** Each worker's last settled call, until it is taken: lines still arriving join it. */
  private readonly settled = new Map<number, ObservedCall>();

  constructor(private readonly forward?: (entry: LogEntry) => void) {}

  /** The host's `onLog`: keeps the line for its worker's call, then passes it on. */
  readonly onLog = (entry: LogEntry): void => {
    // A success's outcome may be read in the same turn as, and before, its last output: a line
    // arriving after the event belongs to the call the event settled, until that call is taken.
    const settled = this.settled.get(entry.workerPid);
    let lines = settled?.output ?? this.lines.get(entry.workerPid);
    if (lines === undefined) this.lines.set(entry.workerPid, (lines = []));
    lines.push({ stream: entry.stream, line: entry.line });
    if (lines.length > KEPT_LINES) lines.shift();
    this.forward?.(entry);
  };

  /** The host's 'call' listener: the call that just settled on the event's worker owns its lines. */
  readonly onCall = (event: CallEvent): void => {
    if (event.workerPid === undefined) return;
    this.settled.set(event.workerPid, { durationMs: event.durationMs, output: this.lines.get(event.workerPid) ?? [] });
    this.lines.delete(event.workerPid);
  };

  /**
   * The facts of the call made with `signal` (`pid`: the worker its error names), once only.
   * Waits for the event loop's turn to end first, so that output read in the same turn as the
   * outcome has arrived.
   */
  async take(signal: AbortSignal, pid?: number): Promise<ObservedCall | undefined> {
    await new Promise((resolve) => setImmediate(resolve));
    const worker = callWorker(signal) ?? pid;
    if (worker === undefined) return undefined;
    const observed = this.settled.get(worker);
    this.settled.delete(worker);
    return observed;
  }

  /** Forgets the lines of a worker that has ended (its last call's facts wait for that call, which may settle after the exit). */
  forget(pid: number): void {
    this.lines.delete(pid);
  }
}
