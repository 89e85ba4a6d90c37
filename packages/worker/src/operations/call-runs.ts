import { type CallError, type CallRun, type FrameWriter, Methods, type ResultsParams, serializeWithParts } from '@airlock/protocol';
import { INTEGER_LINE_MAX_BYTES, type ResultLog } from '../channel/result-log.js';
import { toResponseError } from '../channel/connection.js';
import { WorkerFailure } from '../failure.js';
import type { Hygiene } from '../hygiene/hygiene.js';
import { deliverPluginOutput } from '../channel/plugin-output.js';
import { prepareCall } from './call.js';
import type { WorkerContext } from './context.js';

/** How long calls run back to back before the results they have go out (and, in `run` isolation, before the worker is checked). */
const CHUNK_MS = 1;
/** …or this many bytes of results, whichever comes first. */
const CHUNK_BYTES = 256 * 1024;
/** Outcomes carrying more bytes than this are not copied into the result log (as base64): they go out on their own, at once. */
const LOG_BINARY_MAX_BYTES = 64 * 1024;
/** Room an `airlock/results` frame needs besides its outcomes (header, keys). */
const RESULTS_ENVELOPE_BYTES = 512;

/** What the runner needs of the worker around it. */
export interface RunnerHooks {
  /** Why the worker retired, if it did: no call starts after that. */
  retired(): string | undefined;
  /** Retires the worker (tells the host first); ignored without a reason. */
  retire(reason: string | undefined): void;
  /** Runs an operation in turn with the worker's other operations. */
  serially(operation: () => Promise<void>): void;
  /** Returns once the host has read what was sent on the channel (see awaitHostRead). */
  awaitHostRead(): void;
  /** Called when every queued call has run, before the worker goes back to its event loop. */
  idle?(): void;
}

/**
 * An outcome as the channel carries it. Told apart by `error` (a property load, where `in`
 * would be a keyed lookup on every call of the hot path).
 */
type Outcome = { value: unknown; error?: undefined } | { error: CallError; value?: undefined };

/**
 * Runs the calls of `airlock/calls` one at a time, in order, and sends their outcomes as
 * `airlock/results`. In `call` isolation (every `host.call`) each call is checked for what it
 * left behind and its outcome goes out before the next one starts, once the host has read its
 * output. In `run` isolation (callMany's throughput mode) calls run back to back and their
 * outcomes go out together once nothing else is waiting, or every millisecond (a write per
 * call would cost more than the call), and the checks run once per chunk. Outcomes not yet sent
 * wait in the result log, where the host finds them if a later call kills the worker.
 */
export class CallRunner {
  private readonly queue: CallRun[] = [];
  private draining = false;
  /** Outcomes not sent yet, from sequence number `first` on. */
  private first = 0;
  private outcomes: Outcome[] = [];
  private bytes = 0;
  /** Calls queued and not run yet. */
  private pending = 0;
  /** The run whose call is made ready, and how to run it (or why it cannot run). */
  private prepared: { run: CallRun; invoke: ((wireArgs: unknown) => Outcome) | undefined; failure: Outcome | undefined } | undefined;

  constructor(
    private readonly context: WorkerContext,
    private readonly writer: FrameWriter,
    private readonly hygiene: Hygiene,
    private readonly log: ResultLog | undefined,
    /** The largest frame the host accepts: an outcome that would not fit is LIMIT_EXCEEDED instead. */
    private readonly maxFrameBytes: number,
    private readonly hooks: RunnerHooks,
  ) {}

  /** Queues runs; they start behind whatever the worker is doing. */
  take(runs: CallRun[]): void {
    for (const run of runs) {
      this.queue.push(run);
      this.pending += run.args.length;
    }
    if (this.draining) return;
    this.draining = true;
    this.hooks.serially(() => this.drain());
  }

  /** Runs every queued call (it never throws: every call gets an outcome). */
  private async drain(): Promise<void> {
    let chunkStart = performance.now();
    for (;;) {
      const run = this.queue[0];
      if (run === undefined) break;
      const index = this.nextIndex(run);
      if (index === run.args.length) {
        this.queue.shift();
        continue;
      }
      const refused = this.refusal();
      if (refused !== undefined) {
        await this.send();
        this.refuseQueued(refused);
        break;
      }
      this.pending -= 1;
      const isolated = run.isolation === 'call';
      // A checked call starts once the host has read the outcomes sent before it: what it prints
      // is then counted as its own, whichever of the two pipes the host's event loop reads first
      // (once the library has been seen to print: see awaitHostRead).
      if (isolated) this.hooks.awaitHostRead();
      const outcome = this.runOne(run, index);
      const notStarted = this.retireIfNotStarted(outcome);
      // What could strike a later call by itself is checked before the call's outcome is
      // recorded: the retire notice goes out first, so the host knows it with the outcome.
      if (isolated && !notStarted) this.hooks.retire(this.hygiene.checkLive());
      const recording = this.record(run.first + index, outcome);
      if (recording !== undefined) await recording;
      const more = this.pending > 0;
      // A checked call's outcome goes out before the next call runs: the host counts and keeps
      // output for the call it has not heard the end of, so the next call's output, its output
      // limit and its clock must not start on the host while this one seems to run.
      const due = isolated || !more || this.bytes >= CHUNK_BYTES || performance.now() - chunkStart >= CHUNK_MS;
      if (due) {
        if (!isolated && this.hooks.retired() === undefined) this.hooks.retire(this.hygiene.checkLive());
        await this.send();
        chunkStart = performance.now();
      }
      // The rest cannot act by itself: it is checked before the next call starts (with the
      // outcome already on its way when nothing else waits).
      if ((isolated || due) && this.hooks.retired() === undefined) {
        if (!more) await new Promise<void>((done) => setImmediate(done));
        this.hooks.retire(this.hygiene.checkState());
      }

    }
    await this.send();
    this.hooks.idle?.();
    this.draining = false;
  }

  /** Index in `run` of its first call without an outcome. */
  private nextIndex(run: CallRun): number {
    const recorded = this.first + this.outcomes.length;
    return recorded > run.first ? recorded - run.first : 0;
  }

  /**
   * Keeps one outcome until it is sent, in the log too (which survives this process).
   * Synchronous unless what is kept must go out first (the hot path does not wait a turn per call).
   */
  private record(seq: number, given: Outcome): Promise<void> | undefined {
    // The hot path: an integer result is logged as bytes (an upper bound of them counted).
    if (given.error === undefined && Number.isSafeInteger(given.value) && this.bytes + INTEGER_LINE_MAX_BYTES + RESULTS_ENVELOPE_BYTES <= this.maxFrameBytes) {
      if (this.log === undefined || this.log.appendInteger(seq, given.value as number)) {
        if (this.outcomes.length === 0) this.first = seq;
        this.bytes += INTEGER_LINE_MAX_BYTES;
        this.outcomes.push(given);
        return undefined;
      }
    }
    let outcome = given;
    let entry = logEntry(seq, outcome);
    if (entry.bytes + RESULTS_ENVELOPE_BYTES > this.maxFrameBytes) {
      outcome = tooLarge(entry.bytes + RESULTS_ENVELOPE_BYTES, this.maxFrameBytes);
      entry = logEntry(seq, outcome);
    }
    // Outcomes kept together must fit one frame.
    if (this.bytes + entry.bytes + RESULTS_ENVELOPE_BYTES > this.maxFrameBytes) return this.recordAfterSend(seq, outcome, entry);
    if (this.outcomes.length === 0) this.first = seq;
    if (this.log !== undefined && !(entry.line !== undefined && this.log.append(entry.line, entry.ascii))) return this.recordAfterSend(seq, outcome, entry);
    this.bytes += entry.bytes;
    this.outcomes.push(outcome);
    return undefined;
  }

  /**
   * Keeps an outcome that does not fit with those kept (in the frame, or in the log): they go
   * out first (once they are on the channel, the log is free). One too big for the whole log
   * goes out on its own, at once.
   */
  private async recordAfterSend(seq: number, outcome: Outcome, entry: LogEntry): Promise<void> {
    await this.send();
    this.first = seq;
    this.outcomes.push(outcome);
    if (this.log !== undefined && (entry.line === undefined || !this.log.append(entry.line, entry.ascii))) return this.send();
    this.bytes += entry.bytes;
  }

  /** Sends the outcomes kept; once they reached the kernel, the log is free again. */
  private async send(): Promise<void> {
    if (this.outcomes.length === 0) return;
    deliverPluginOutput();
    const reached = this.writer.writeNow(resultsMessage(this.first, this.outcomes));
    this.first += this.outcomes.length;
    this.outcomes = [];
    this.bytes = 0;
    if (!reached) await this.writer.drained();
    this.log?.reset();
  }

  /** Runs call `index` of `run`; what it throws becomes its error outcome. */
  private runOne(run: CallRun, index: number): Outcome {
    if (this.prepared?.run !== run) {
      // Once per run: what fails here (the library, the symbol, the prototype) fails each call of it.
      this.prepared = { run, invoke: undefined, failure: undefined };
      try {
        this.prepared.invoke = prepareCall(this.context, run.call);
      } catch (error) {
        this.prepared.failure = failureOutcome(error);
      }
    }
    const { invoke, failure } = this.prepared;
    if (invoke === undefined) return failure!;
    try {
      return invoke(run.args[index]);
    } catch (error) {
      return failureOutcome(error);
    }
  }

  /**
   * A call this worker cannot give what it asks (its memory limit is locked lower) never
   * started: the worker retires, and the host runs it, and those behind it, elsewhere.
   */
  private retireIfNotStarted(outcome: Outcome): boolean {
    if (outcome.error === undefined || outcome.error.data.details?.notStarted !== true) return false;
    this.hooks.retire(outcome.error.message);
    return true;
  }

  private refusal(): WorkerFailure | undefined {
    const retired = this.hooks.retired();
    if (retired === undefined) return undefined;
    return new WorkerFailure('UNAVAILABLE', `This worker retired (${retired}); the call did not start`, { details: { notStarted: true } });
  }

  /** Refuses every queued call without an outcome (none of them started); this worker runs no more. */
  private refuseQueued(failure: WorkerFailure): void {
    const error: CallError = { message: failure.message, data: failure.data };
    this.pending = 0;
    for (const run of this.queue.splice(0)) {
      const from = this.nextIndex(run);
      if (from < run.args.length) this.writer.writeNow(resultsMessage(run.first + from, run.args.slice(from).map(() => ({ error }))));
    }
  }
}

/** The outcome of a call that threw. */
function failureOutcome(error: unknown): Outcome {
  const { message, data } = toResponseError(error);
  return { error: { message, data: data as CallError['data'] } };
}

/** The `airlock/results` message of consecutive outcomes. */
function resultsMessage(first: number, outcomes: Outcome[]): { jsonrpc: '2.0'; method: string; params: ResultsParams } {
  const values: unknown[] = new Array(outcomes.length);
  let errors: Record<string, CallError> | undefined;
  outcomes.forEach((outcome, index) => {
    if (outcome.error !== undefined) {
      values[index] = null;
      (errors ??= {})[index] = outcome.error;
    } else values[index] = outcome.value;
  });
  return { jsonrpc: '2.0', method: Methods.results.method, params: { first, values, ...(errors !== undefined && { errors }) } };
}

/** An outcome's line in the result log (none when it is not logged), and the bytes it takes on the channel. */
interface LogEntry {
  line: string | undefined;
  bytes: number;
  /** The line is ASCII (a number's): the log writes it without UTF-8 encoding. */
  ascii?: boolean;
}

/**
 * One line of the result log, and the bytes the outcome takes on the channel. An outcome that
 * carries more than LOG_BINARY_MAX_BYTES of binary parts gets no line (base64 of it would cost
 * more than sending it at once).
 */
function logEntry(seq: number, outcome: Outcome): LogEntry {
  if (outcome.error !== undefined) {
    const line = JSON.stringify([seq, null, outcome.error]);
    return { line, bytes: jsonBytes(line) };
  }
  const value = outcome.value;
  // Only an object can hold bytes: a number, string or null is the hot path's common case. A
  // wire-encoded number is finite and not -0 (encodeValue tags the others), so its JSON is its String.
  if (typeof value === 'number') {
    const line = `[${seq},${value}]`;
    return { line, bytes: line.length, ascii: true };
  }
  if (typeof value !== 'object' || value === null) {
    const line = `[${seq},${JSON.stringify(value)}]`;
    return { line, bytes: jsonBytes(line) };
  }
  const entry = [seq, value];
  const { json, parts } = serializeWithParts(() => JSON.stringify(entry));
  let bytes = jsonBytes(json);
  if (parts.length === 0) return { line: json, bytes };
  let binary = 0;
  for (const part of parts) binary += part.byteLength;
  bytes += binary;
  return { line: binary > LOG_BINARY_MAX_BYTES ? undefined : JSON.stringify(entry), bytes };
}

/** UTF-8 bytes of JSON text; characters undercount them, so they are counted exactly only where it could matter. */
function jsonBytes(json: string): number {
  return json.length > CHUNK_BYTES ? Buffer.byteLength(json, 'utf8') : json.length;
}

/** The outcome of a call whose result would not fit in a frame the host accepts. */
function tooLarge(bytes: number, maxFrameBytes: number): Outcome {
  const failure = new WorkerFailure(
    'LIMIT_EXCEEDED',
    `The call's result takes ${bytes} bytes on the channel, over its ${maxFrameBytes}-byte frame limit: raise the host's maxFrameBytes option`,
    { limit: 'output', details: { bytes, maxFrameBytes } },
  );
  return { error: { message: failure.message, data: failure.data } };
}
