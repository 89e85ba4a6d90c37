import type { Readable, Writable } from 'node:stream';
import {
  type CallError,
  type CallParams,
  type CallRun,
  type FrameWriter,
  type HelloResult,
  type ResultsParams,
  type RetireParams,
  Methods,
  REQUESTS,
  RESULT_SCHEMAS,
  RPC_AIRLOCK_ERROR,
  WorkerErrorDataSchema,
} from '@airlock/protocol';
import { debuglog } from 'node:util';
import { type Message, type MessageConnection, ResponseError, createMessageConnection } from 'vscode-jsonrpc/node';
import { AirlockError } from '../errors/airlock-error.js';
import { type KillIntent, type WorkerExit, classifyDeath, endReason } from '../errors/classify.js';
import { CallMeter } from './call-meter.js';
import { OutputCapture } from '../output/output-capture.js';
import { CallWatch } from './call-watch.js';
import { guardedChannel } from './channel-guard.js';
import { memoryEvidence } from './leftovers.js';
import { killRemains, releaseRemains } from './worker-remains.js';
import { findSandboxedWorker, hasExited, killTree } from './proc-reader.js';
import { takePrestarted } from './prestart.js';
import { runFrameBytes } from './frame-size.js';
import { acceptHello, diedBeforeHandshake, helloParams } from './handshake.js';
import { readResultLog } from './result-log.js';
import { callFailure, refusedUnstarted, unstartedFailure } from './worker-failure.js';
import { type SpawnedWorker, StartFailure, spawnWorker } from './worker-spawn.js';

export { StartFailure } from './worker-spawn.js';
export { type CallInfo, type CallOutcome, NotStarted, type RunRequest, type WorkerLaunch } from './call-types.js';
import { type ActiveCall, type CallInfo, NotStarted, type RunRequest, type WorkerLaunch } from './call-types.js';

/** `NODE_DEBUG=airlock`: why workers retire. */
const debug = debuglog('airlock');

/** A child process or one of its pipes, which can keep the event loop alive or not. */
interface RefHandle {
  ref?: () => void;
  unref?: () => void;
}

/** How long a worker whose channel closed has to exit by itself before it is killed. */
const CHANNEL_CLOSE_GRACE_MS = 1000;
/** How long a call waits for the exit of a worker the host killed before it settles anyway. */
const KILL_SETTLE_MS = 3000;
/** How late a worker may report a call's end (it sends the outcomes of calls run back to back about every millisecond). */
const RUN_REPORT_SLACK_MS = 5;
/** Calls a message of runs carries before the next message starts (see flushOutbox). */
const OUTBOX_MESSAGE_CALLS = 2048;

/**
 * One supervised worker process: its channel, its plugin output, its one running call, and
 * the decision of how that call ended when the worker dies. The worker and everything it
 * starts form one process group, killed as a whole.
 */
export class WorkerProcess {
  hello!: HelloResult;
  /** Resolves once the process has exited and its temp dir is gone. */
  readonly exited: Promise<WorkerExit>;
  private readonly connection: MessageConnection;
  /** The channel's writer, which the hot path writes to directly. */
  private readonly writer: FrameWriter;
  private readonly output: OutputCapture;
  /** Runs queued this turn, sent together at its end. */
  private readonly outbox: CallRun[] = [];
  /** Sequence number of the next call sent on this channel. */
  private nextSeq = 0;
  /** Largest frame either end accepts. */
  readonly maxFrameBytes: number;
  /** Calls sent to the worker, in order; the worker runs them one at a time, so the first is running. */
  private readonly calls: ActiveCall[] = [];
  /** Resolves when the worker's channel has reached its end. */
  private readonly channelEnded: Promise<void>;
  private pendingIntent: KillIntent | undefined;
  /** False from the moment the process is known to have exited. */
  alive = true;
  private readonly exitListeners: Array<(exit: WorkerExit) => void> = [];
  private readonly spawned: SpawnedWorker;
  /** A sandboxed worker's own pid, found once it has answered its handshake. */
  private workerPid: number | undefined;
  private readonly watchIntervalMs: number;
  /** The transport (`ssh`) of a worker on another machine: this host sees its client, not the worker, in /proc. */
  readonly transport: string | undefined;
  /** Where it runs: `local`, or its group's launcher (`ssh build-box`). */
  readonly where: string;
  /** Hot-path messages of a worker behind a transport, read this turn and taken at its end. */
  private readonly behindTransport: Message[] = [];
  /** The child and its pipes: they keep the host process alive only while the worker has work. */
  private readonly handles: RefHandle[];
  private held = true;
  private closing = false;
  /** Why the worker serves no further call (it said so, or it served maxCalls); set before the call settles. */
  private retiring: string | undefined;
  private callsServed = 0;
  /** Retired by its host (see renew), not by what a call did. */
  private renewed = false;
  private readonly maxCalls: number;
  private readonly meter: CallMeter | undefined;
  /** Why it ended (set when it has): what the host intended, else `crashed` (during a call) or `exited`. */
  endReason: string | undefined;
  /** When it answered its handshake, on this process's clock (performance.now()). */
  readyAt = 0;

  /** When it was spawned, on this process's clock (earlier than the host for a worker plugin-run started first thing). */
  get spawnedAt(): number {
    return this.spawned.spawnedAt;
  }

  private constructor(launch: WorkerLaunch, spawned: SpawnedWorker) {
    this.spawned = spawned;
    this.meter = launch.monitor && new CallMeter(() => this.pid, launch.monitor, () => this.output.lastLines());
    const { child } = spawned;
    this.watchIntervalMs = launch.watchIntervalMs;
    this.transport = launch.remote?.transport;
    this.where = launch.remote?.where ?? 'local';
    this.maxFrameBytes = launch.maxFrameBytes;
    this.maxCalls = launch.maxCalls ?? Number.POSITIVE_INFINITY;
    this.handles = [child, child.stdin, child.stdout, child.stderr, child.stdio[3]].filter((handle) => handle !== null) as RefHandle[];
    liveWorkers.add(this);
    const { reader, writer } = guardedChannel(
      child.stdout as Readable,
      child.stdin as Writable,
      launch.maxFrameBytes,
      (id) =>
        // The call it answers has settled already (a forged reply won, or this one is a replay): that
        // call's worker cannot be trusted with another, but the call running now is not to blame.
        this.retireSoon(`it answered request ${JSON.stringify(id)} twice (a forged or replayed reply)`),
      (message) => this.takeHotMessage(message),
    );
    this.writer = writer;
    this.connection = createMessageConnection(reader, writer);
    this.output = new OutputCapture({ stdout: child.stdio[3] as Readable, stderr: child.stderr as Readable }, (line) =>
      launch.onLine({ ...line, workerPid: this.pid }),
    );
    reader.onError((error) => this.kill({ kind: 'protocol', detail: error.message }));
    let endChannel!: () => void;
    this.channelEnded = new Promise<void>((resolve) => (endChannel = resolve));
    reader.onClose(() => {
      endChannel();
      // A worker whose channel closed is done, whether it exits by itself or not. A plugin that
      // exit()s closes the channel too: the exit, not this, must decide how the call ended, so
      // the worker gets a moment, and is not blamed if it is already dead but not yet reaped.
      if (!this.alive) return;
      const timer = setTimeout(() => {
        if (this.alive && !hasExited(this.pid)) this.kill({ kind: 'protocol', detail: 'the worker closed its channel' });
      }, CHANNEL_CLOSE_GRACE_MS);
      timer.unref();
    });
    // Whatever goes wrong in the bookkeeping, the exit is reported: close() waits for it.
    this.exited = spawned.exit.then((exit) => this.onExit(exit).then(undefined, () => exit));
    this.connection.listen();
  }

  /**
   * Results, and the worker's word that a call left it changed, read in order as they arrive
   * (params checked by the guard). A retire notice comes before the answer of the call that
   * caused it for what could act by itself, after it for what the worker checks once the answer
   * is on its way.
   */
  private takeHotMessage(message: Message): boolean {
    const { method } = message as { method?: string };
    if (method !== Methods.results.method && method !== Methods.retire.method) return false;
    if (this.transport === undefined) this.takeInOrder(message);
    else {
      // Behind a transport the worker's output and its outcomes share no pipe it can wait on
      // (it waits for sshd to read its output, not for this host): ssh delivers the output
      // first, but this host's event loop may read the outcome's pipe first in the same turn.
      // The outcomes wait for that turn's reads to end, in order.
      this.behindTransport.push(message);
      if (this.behindTransport.length === 1) setImmediate(() => this.takeBehindTransport());
    }
    return true;
  }

  /** What the worker says on the hot path, in the order it said it. */
  private takeInOrder(message: Message): void {
    const { method, params } = message as { method?: string; params?: unknown };
    if (method === Methods.results.method) this.onResults(params as ResultsParams);
    else this.retireSoon((params as RetireParams).reason);
  }

  /** The hot-path messages of a worker behind a transport, once the turn that read them is over. */
  private takeBehindTransport(): void {
    for (const message of this.behindTransport.splice(0)) this.takeInOrder(message);
  }

  /** Spawns a worker and completes the handshake; throws StartFailure naming the cause. */
  static async start(launch: WorkerLaunch): Promise<WorkerProcess> {
    let worker: WorkerProcess;
    try {
      const prestarted = takePrestarted(launch);
      if (prestarted !== undefined) debug('worker %d: prestarted, taken', prestarted.pid);
      worker = new WorkerProcess(launch, prestarted ?? spawnWorker(launch));
    } catch (error) {
      throw error instanceof StartFailure ? error : new StartFailure(`Cannot spawn the worker: ${(error as Error).message}`);
    }
    const deathFailure = (exit: WorkerExit) => diedBeforeHandshake(exit, worker.pendingIntent, worker.output.lastLines());
    const died = worker.exited.then((exit) => {
      throw deathFailure(exit);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StartFailure(`The worker did not complete its handshake within ${launch.startTimeoutMs} ms`)), launch.startTimeoutMs);
    });
    try {
      const hello = worker.connection.sendRequest(Methods.hello, helloParams(launch.maxRssBytes, launch.watchMemory, launch.lingerMicros)).then(acceptHello, async (error: unknown) => {
        if (!worker.alive) throw deathFailure(await worker.exited);
        throw new StartFailure(`The worker refused the handshake: ${(error as Error).message}`);
      });
      worker.hello = await Promise.race([hello, died, timeout]);
      if (worker.spawned.sandboxed) {
        // The host supervises the worker itself (its CPU, memory, descendants), not the bubblewrap around it.
        const pid = findSandboxedWorker(worker.spawned.pid);
        if (pid === undefined) throw new StartFailure('The sandboxed worker answered its handshake but is not found under its bubblewrap');
        worker.workerPid = pid;
      }
      worker.holdEventLoop(false);
      worker.readyAt = performance.now();
      return worker;
    } catch (error) {
      worker.kill({ kind: 'close' });
      await worker.exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The worker's process id (as this host's PID namespace numbers it). */
  get pid(): number {
    return this.workerPid ?? this.spawned.pid;
  }

  /** The process group killed as a whole: the worker's own, or that of the bubblewrap around it. */
  get groupPid(): number {
    return this.spawned.pid;
  }

  /** The worker's own temp dir (its TMPDIR). */
  get tempDir(): string {
    return this.spawned.tempDir;
  }

  /** Whether the worker can take a call. */
  get usable(): boolean {
    return this.alive && this.pendingIntent === undefined;
  }

  /** Whether the worker ended because its host closed or renewed it (not because of a call, nor a retirement a call caused). */
  get closedByHost(): boolean {
    return this.renewed || this.pendingIntent?.kind === 'close';
  }

  /** Retires the worker once its calls have settled (at once if idle), for a reason of the host's, not of a call's. */
  renew(reason: string): void {
    this.renewed = true;
    this.retireSoon(reason);
  }

  /** Whether a call is running. */
  get busy(): boolean {
    return this.calls.length > 0;
  }

  /** Calls sent to this worker and not settled: the running one and those queued behind it. */
  get load(): number {
    return this.calls.length;
  }

  /** The running call. */
  private get active(): ActiveCall | undefined {
    return this.calls[0];
  }

  /**
   * Whether the worker keeps the host process alive. It does while it starts, runs calls or
   * closes; an idle worker does not, so a script that never calls close() still exits when its
   * work is done (and the worker goes with it: see the 'exit' listener below and the janitor).
   */
  private holdEventLoop(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    for (const handle of this.handles) held ? handle.ref?.() : handle.unref?.();
  }

  /** Registers a listener for the worker's exit. */
  onExitOnce(listener: (exit: WorkerExit) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * Runs one request. Settles exactly once: with the result, with the worker's own error, or
   * (when the worker dies or is killed) with the classified death. A `call` travels on the hot
   * path as a run of one.
   */
  request(method: keyof typeof REQUESTS | 'call', params: unknown, info: CallInfo): Promise<unknown> {
    if (method === 'call') return this.callOnce(params as CallParams, info);
    if (!this.usable) return Promise.reject(this.unusable());
    if (info.signal?.aborted) return Promise.reject(cancelled(info.signal.reason, this.pid));
    if (this.transport !== undefined && info.limits.maxProcesses !== undefined) return Promise.reject(unwatchedLimit(this.transport, this.pid));
    const type = REQUESTS[method];
    return new Promise<unknown>((resolve, reject) => {
      this.enqueue(this.item(info, type.method, { request: { params, resolve, reject } }));
    });
  }

  /** One call, as a run of one: resolves to `info.accept` of its result (or `{ value }`). */
  private callOnce(params: CallParams, info: CallInfo): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const { args, ...call } = params;
      this.runCalls(
        {
          call,
          args: [args],
          isolation: 'call',
          settle: (_index, outcome) => ('error' in outcome ? reject(outcome.error) : resolve(outcome.value)),
          accept: (value) => (info.accept ? info.accept({ value }) : { value }),
        },
        info,
      );
    });
  }

  /**
   * Sends a run of calls (settled one by one through `spec.settle`). Runs issued in the same
   * turn of the event loop travel in one message.
   */
  runCalls(request: RunRequest, info: CallInfo): void {
    const spec = this.meter === undefined ? request : this.meter.wrap(request, this.nextSeq, (outcome) => 'error' in outcome && outcome.error instanceof NotStarted);
    const refuse = (error: AirlockError) => spec.args.forEach((_, index) => spec.settle(index, { error }));
    if (!this.usable) return refuse(this.unusable());
    if (info.signal?.aborted) return refuse(cancelled(info.signal.reason, this.pid));
    if (this.transport !== undefined && info.limits.maxProcesses !== undefined) return refuse(unwatchedLimit(this.transport, this.pid));
    const bytes = runFrameBytes(spec.call.library, spec.call.fn, spec.args, this.maxFrameBytes);
    if (bytes > this.maxFrameBytes) {
      return refuse(
        new AirlockError(
          'INVALID_ARGUMENT',
          `The call takes ${bytes} bytes on the channel, over its ${this.maxFrameBytes}-byte frame limit: raise the host's maxFrameBytes option (or send fewer inputs per chunk)`,
          { details: { bytes, maxFrameBytes: this.maxFrameBytes } },
        ),
      );
    }
    const item = this.item(info, Methods.calls.method, { run: { spec, first: this.nextSeq, done: 0 } });
    this.nextSeq += spec.args.length;
    this.enqueue(item);
  }

  private unusable(): AirlockError {
    return new AirlockError('UNAVAILABLE', `Worker ${this.pid} is no longer usable`, { workerPid: this.pid });
  }

  private item(info: CallInfo, method: string, what: Pick<ActiveCall, 'request' | 'run'>): ActiveCall {
    return { info, armed: false, sent: false, dropped: false, method, intent: undefined, settleTimer: undefined, watch: undefined, timer: undefined, onAbort: undefined, ...what };
  }

  private enqueue(call: ActiveCall): void {
    this.calls.push(call);
    this.holdEventLoop(true);
    if (call.info.signal) {
      const signal = call.info.signal;
      call.onAbort = () => {
        if (call.armed) return this.kill({ kind: 'cancel', reason: signal.reason });
        // Queued behind another call: it has not started, so nothing needs killing. It is
        // settled now; the worker may still run it when its turn comes, and its answer is dropped.
        call.dropped = true;
        this.rejectAll(call, cancelled(signal.reason, this.pid));
      };
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    if (this.calls.length === 1) this.arm(call);
    this.pump();
  }

  /**
   * Sends what may go now. Runs go out as soon as they are queued, in one message per turn; a
   * control request waits until everything before it has settled, and nothing goes out behind
   * it until it has (the worker answers the two kinds on different paths).
   */
  private pump(): void {
    if (!this.alive) return;
    for (let index = 0; index < this.calls.length; index += 1) {
      const call = this.calls[index]!;
      if (call.sent) {
        if (call.request !== undefined) return;
        continue;
      }
      if (call.request !== undefined) {
        if (index > 0) return;
        call.sent = true;
        this.connection.sendRequest(call.method, call.request.params).then(
          (result) => this.onResponse(call, result),
          (error: unknown) => this.onErrorResponse(call, error),
        );
        return;
      }
      call.sent = true;
      const { spec, first } = call.run!;
      this.outbox.push({ first, call: spec.call, args: spec.args, isolation: spec.isolation });
      if (this.outbox.length === 1) process.nextTick(() => this.flushOutbox());
    }
  }

  /**
   * Sends the runs queued this turn: many small ones (single calls) in one message; big ones
   * (callMany's chunks) in messages of about OUTBOX_MESSAGE_CALLS calls, each written as soon as
   * it is serialized, so that the worker parses and runs the first while this side writes the rest.
   */
  private flushOutbox(): void {
    if (this.outbox.length === 0 || !this.alive) return;
    const queued = this.outbox.splice(0);
    let runs: CallRun[] = [];
    let calls = 0;
    for (const run of queued) {
      runs.push(run);
      calls += run.args.length;
      if (calls >= OUTBOX_MESSAGE_CALLS) {
        this.writer.writeNow({ jsonrpc: '2.0', method: Methods.calls.method, params: { runs } } as Message);
        runs = [];
        calls = 0;
      }
    }
    if (runs.length > 0) void this.writer.write({ jsonrpc: '2.0', method: Methods.calls.method, params: { runs } } as Message);
  }

  /** Starts the running call's clocks and watches: a call's limits count from when it runs. */
  private arm(call: ActiveCall): void {
    const { info } = call;
    call.armed = true;
    if (call.run !== undefined) this.meter?.started(call.run.first + call.run.done);
    // A worker on another machine enforces its limits itself (RLIMIT_DATA, RLIMIT_NOFILE,
    // RLIMIT_CPU, its memory watcher): the /proc this host would sample is its transport's.
    if (this.transport === undefined) call.watch = new CallWatch(this.pid, info.limits, this.watchIntervalMs, (limit, detail) => this.kill({ kind: 'limit', limit, detail }));
    this.output.beginCall(info.limits.maxOutputBytes, (bytes) =>
      this.kill({ kind: 'limit', limit: 'output', detail: `${bytes} bytes written, the limit is ${info.limits.maxOutputBytes} bytes` }),
    );
    if (info.limits.timeoutMs !== undefined) {
      // Calls run back to back report in chunks: the host sees one move on up to a chunk late,
      // so the next call's clock starts then, and gets that slack so that it is never cut short.
      const timeoutMs = info.limits.timeoutMs;
      const slack = call.run !== undefined ? RUN_REPORT_SLACK_MS : 0;
      call.timer = setTimeout(() => this.kill({ kind: 'timeout', timeoutMs }), timeoutMs + slack);
    }
  }

  /**
   * Outcomes of consecutive calls, straight off the channel (schema-checked by the guard), or
   * (`replay`) out of a dead or killed worker's result log, which may settle calls the host had
   * already decided to kill for: they had ended, the one without an outcome had not.
   */
  private onResults(params: ResultsParams, replay = false): void {
    const { first, values, errors } = params;
    for (let index = 0; index < values.length; index += 1) {
      if (!replay && (!this.alive || this.active?.intent !== undefined)) return;
      const call = this.active;
      const run = call?.run;
      const seq = first + index;
      if (call === undefined || run === undefined || run.first + run.done !== seq) {
        if (replay) return;
        // Results of calls that settled already (a forged or replayed reply), or of calls never sent.
        if (seq < this.firstUnanswered()) return this.retireSoon(`it answered call ${seq} twice (a forged or replayed reply)`);
        return this.kill({ kind: 'protocol', detail: `it answered call ${seq}, which is not the one running` });
      }
      if (index === 0 && !replay) call.watch?.sample();
      if (!replay && call.intent !== undefined) return;
      const error = errors?.[index];
      if (error !== undefined) this.settleError(call, run, error);
      else this.settleValue(call, run, values[index], replay);
    }
    const call = this.active;
    if (!replay && call?.run !== undefined && call.armed && call.run.done > 0) this.rearm(call);
  }

  /** Sequence number of the first call the worker has not answered (calls are answered in order). */
  private firstUnanswered(): number {
    const run = this.calls.find((call) => call.run !== undefined)?.run;
    return run === undefined ? this.nextSeq : run.first + run.done;
  }

  /** Call `run.done` of the running run returned `value`. */
  private settleValue(call: ActiveCall, run: NonNullable<ActiveCall['run']>, value: unknown, replay = false): void {
    let accepted: unknown;
    try {
      accepted = run.spec.accept(value, run.done);
    } catch (error) {
      if (replay) return;
      this.kill({ kind: 'protocol', detail: `its result does not fit the call: ${(error as Error).message}` });
      return;
    }
    const index = run.done++;
    if (!call.dropped) run.spec.settle(index, { value: accepted });
    this.afterElement(call);
  }

  /** Call `run.done` of the running run failed in the worker (or was refused there: it never started). */
  private settleError(call: ActiveCall, run: NonNullable<ActiveCall['run']>, error: CallError): void {
    const index = run.done++;
    if (refusedUnstarted(error.data, this.retiring)) {
      // Refused by a worker that retired (after the call before it, or because it cannot give
      // this one its limits): it never ran, so it runs elsewhere, and never on this worker again.
      if (!call.dropped) run.spec.settle(index, { error: unstartedFailure(error.message, this.pid) });
      if (run.done === run.spec.args.length) this.finish(call);
      this.retireIfDue();
      return;
    }
    const output = run.spec.isolation === 'call' ? this.output.lastLines() : [];
    if (!call.dropped) run.spec.settle(index, { error: callFailure(error.data, error.message, { output, workerPid: this.pid, retiring: this.retiring }) });
    this.afterElement(call);
  }

  /** After one call of a run settled: the run ends with its last call. */
  private afterElement(call: ActiveCall): void {
    this.callsServed += 1;
    if (this.retiring === undefined && this.callsServed >= this.maxCalls) this.retiring = `it served its ${this.maxCalls} call(s) (maxCallsPerWorker)`;
    if (call.run!.done === call.run!.spec.args.length) this.finish(call);
    this.retireIfDue();
  }

  /** The next call of a run starts: its clocks and watches start again. */
  private rearm(call: ActiveCall): void {
    this.release(call);
    this.output.endCall();
    if (this.usable) this.arm(call);
  }

  /** A control request's answer. */
  private onResponse(call: ActiveCall, result: unknown): void {
    if (!this.inOrder(call) || call.intent !== undefined) return;
    // A last look: a call that returned at once may still have left more threads or processes
    // behind than it may start, or used more CPU than it may.
    call.watch?.sample();
    if (call.intent !== undefined) return;
    const schema = RESULT_SCHEMAS.get(call.method);
    const parsed = schema ? schema.safeParse(result) : { success: true as const, data: result };
    if (!parsed.success) {
      this.kill({ kind: 'protocol', detail: `its result for ${call.method} does not match the protocol: ${parsed.error.message}` });
      return;
    }
    let value: unknown = parsed.data;
    if (call.info.accept) {
      try {
        value = call.info.accept(value);
      } catch (error) {
        this.kill({ kind: 'protocol', detail: `its result does not fit the call: ${(error as Error).message}` });
        return;
      }
    }
    this.finish(call);
    if (!call.dropped) call.request!.resolve(value);
    this.afterCall();
  }

  private onErrorResponse(call: ActiveCall, error: unknown): void {
    if (this.active === call && call.intent !== undefined) return;
    if (error instanceof ResponseError && error.code !== RPC_AIRLOCK_ERROR && error.code > -32000) return;
    if (!this.inOrder(call)) return;
    if (!(error instanceof ResponseError) || error.code !== RPC_AIRLOCK_ERROR) {
      // The connection gave up (disposed, closed): the exit handler decides how the call ended.
      if (error instanceof ResponseError && error.code > -32000) return;
      this.kill({ kind: 'protocol', detail: `unexpected error response: ${(error as Error).message}` });
      return;
    }
    const data = WorkerErrorDataSchema.safeParse(error.data);
    if (!data.success) {
      this.kill({ kind: 'protocol', detail: `malformed error data: ${data.error.message}` });
      return;
    }
    const output = this.finish(call);
    if (refusedUnstarted(data.data, this.retiring)) {
      this.retireIfDue();
      if (!call.dropped) call.request!.reject(unstartedFailure(error.message, this.pid));
      return;
    }
    if (!call.dropped) call.request!.reject(callFailure(data.data, error.message, { output, workerPid: this.pid, retiring: this.retiring }));
    this.afterCall();
  }

  /**
   * After a call settled: a worker that the call left changed, or that has served its
   * maxCallsPerWorker calls, serves no other. Calls already sent to it never started there:
   * they go back to the pool, and the worker is killed with whatever the call left running.
   */
  private afterCall(): void {
    this.callsServed += 1;
    if (this.retiring === undefined && this.callsServed >= this.maxCalls) this.retiring = `it served its ${this.maxCalls} call(s) (maxCallsPerWorker)`;
    this.retireIfDue();
  }

  /** Retires the worker now if it is to retire: kills it, and hands the calls sent to it back to the pool. */
  private retireIfDue(): void {
    if (this.retiring === undefined || !this.alive || this.pendingIntent !== undefined) return;
    debug('retiring worker %d: %s', this.pid, this.retiring);
    this.meter?.monitor.workerRetired(this.pid, this.retiring);
    this.pendingIntent = { kind: 'retire', reason: this.retiring };
    for (const waiting of this.calls.splice(0)) {
      this.forget(waiting);
      if (!waiting.dropped) this.rejectAll(waiting, new NotStarted(`worker ${this.pid} retired before the call started`) as AirlockError);
    }
    killTree(this.groupPid);
  }

  /** Settles every call of `call` not settled yet with `error`. */
  private rejectAll(call: ActiveCall, error: AirlockError): void {
    if (call.request !== undefined) return call.request.reject(error);
    // `done` counts the calls the worker answered: a run cancelled while it waits is still answered
    // (its answers then settle nothing), so the sequence it expects does not move here.
    const run = call.run!;
    for (let index = run.done; index < run.spec.args.length; index += 1) run.spec.settle(index, { error });
  }

  /** Retires the worker once no call is running on it (at once if it is idle). */
  private retireSoon(reason: string): void {
    this.retiring ??= reason;
    if (this.calls.length === 0) this.retireIfDue();
  }

  /** Stops a call's clocks and watches. */
  private release(call: ActiveCall): void {
    call.watch?.stop();
    clearTimeout(call.timer);
    clearTimeout(call.settleTimer);
  }

  /** Drops a call's clocks and listeners without settling it. */
  private forget(call: ActiveCall): void {
    this.release(call);
    if (call.onAbort) call.info.signal?.removeEventListener('abort', call.onAbort);
  }

  /** Ends the active call's bookkeeping; returns its last output lines. */
  private finish(call: ActiveCall): string[] {
    this.forget(call);
    this.calls.shift();
    const lines = this.output.endCall();
    const next = this.active;
    if (next !== undefined && this.usable) this.arm(next);
    if (this.calls.length === 0 && this.alive && !this.closing) this.holdEventLoop(false);
    this.pump();
    return lines;
  }

  /**
   * The worker answers in the order it was asked. An answer to a call that is still waiting
   * behind the running one is a broken worker (a protocol violation).
   */
  private inOrder(call: ActiveCall): boolean {
    if (this.active === call) return true;
    if (this.calls.includes(call)) this.kill({ kind: 'protocol', detail: `it answered ${call.method} out of order` });
    return false;
  }

  /**
   * Kills the worker and its whole process group, recording why first, so that its death is
   * classified by the host's intent rather than by the signal it happened to die of.
   */
  kill(intent: KillIntent): void {
    if (!this.alive) return;
    // A worker that already died by itself (exited, not yet reaped) is judged by how it died.
    if (intent.kind !== 'cancel' && hasExited(this.pid)) return;
    const call = this.active;
    if (call && call.intent === undefined) call.intent = intent;
    this.pendingIntent ??= intent;
    killTree(this.groupPid);
    if (call && call.intent === intent) {
      // A cancelled call settles at once; any other waits for the exit (and the plugin's last
      // words), but never forever: a process that SIGKILL does not end at once (stuck in the
      // kernel) must not hang its caller.
      if (intent.kind === 'cancel') this.settleKilled(call);
      else {
        call.settleTimer = setTimeout(() => this.settleKilled(call), KILL_SETTLE_MS);
        call.settleTimer.unref();
      }
    }
  }

  /** Settles a call whose worker the host killed, by the host's intent, without waiting for the exit. */
  private settleKilled(call: ActiveCall): void {
    if (this.active !== call || call.intent === undefined) return;
    this.replayLog();
    if (this.active !== call) return;
    this.settleDeath(
      call,
      classifyDeath(call.intent, { signal: 'SIGKILL', exitCode: null }, {
        memoryPressure: false,
        memoryLimited: false,
        cpuLimited: false,
        output: this.output.lastLines(),
        workerPid: this.pid,
        operation: call.info.operation,
      }),
    );
  }

  /** Settles what the result log of this (dead or stopped) worker holds for the running run. */
  private replayLog(): void {
    const run = this.active?.run;
    if (run === undefined) return;
    // A call that ended is not the one that hung or was cancelled; but a limit the host saw
    // exceeded (processes, CPU, memory, output) is the running call's even if it returned since.
    const intent = this.active!.intent;
    if (intent !== undefined && intent.kind !== 'timeout' && intent.kind !== 'cancel') return;
    const logged = readResultLog(this.tempDir, run.first + run.done);
    if (logged !== undefined) this.onResults(logged, true);
  }

  /**
   * The running call ends with its worker: a request, or the run's current call, rejects with
   * `error`; the run's calls after it never started (the pool runs them elsewhere).
   */
  private settleDeath(call: ActiveCall, error: AirlockError): void {
    this.finish(call);
    if (call.dropped) return;
    if (call.request !== undefined) return call.request.reject(error);
    const run = call.run!;
    run.spec.settle(run.done++, { error });
    this.rejectAll(call, new NotStarted(`worker ${this.pid} died before the call started`) as AirlockError);
  }

  /** Asks the worker to end (closing its channel), then kills it after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    if (this.alive) {
      // Until it has exited, a closing worker keeps the host process alive: `await close()` settles.
      this.closing = true;
      this.holdEventLoop(true);
      // A call still running may finish within the grace period; if it is killed after it, its
      // death is the host's doing (see onExit), not a crash.
      this.pendingIntent ??= { kind: 'close' };
      this.connection.end();
      (this.spawned.child.stdin as Writable | null)?.end();
      const timer = setTimeout(() => {
        try {
          process.kill(-this.groupPid, 'SIGTERM');
        } catch {
          /* gone */
        }
        setTimeout(() => killTree(this.groupPid), graceMs).unref();
      }, graceMs);
      timer.unref();
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private async onExit(exit: WorkerExit): Promise<WorkerExit> {
    // Outcomes read before the exit, still waiting for their turn's end, are outcomes.
    this.takeBehindTransport();
    this.alive = false;
    // Answers the worker wrote before it died may still be in the pipe: take them first, so
    // that the call that was really running when it died is the one judged by its death.
    const head = this.active;
    if (this.calls.length > 1 || (head?.run !== undefined && head.run.spec.args.length - head.run.done > 1)) {
      await within(this.channelEnded, 250);
      for (let turn = 0; turn < 2 * this.calls.length + 2; turn += 1) await new Promise((r) => setImmediate(r));
    }
    // Outcomes the worker had logged but not sent yet (a run reporting in chunks) are as good
    // as sent: the call that was really running is the first one without one.
    this.replayLog();
    const call = this.active;
    call?.watch?.sample();
    killRemains(this.spawned, this.groupPid, this.pendingIntent === undefined);
    // Give the pipes a moment to deliver the plugin's last words.
    await within(this.output.ended, 250);
    if (call && this.active === call) {
      const limited = call.info.limits.memoryBytes !== undefined;
      const closing = this.pendingIntent?.kind === 'close' && (exit.signal === 'SIGTERM' || exit.signal === 'SIGKILL');
      this.settleDeath(
        call,
        classifyDeath(call.intent ?? (closing ? this.pendingIntent : undefined), exit, {
          memoryPressure: call.watch?.memoryPressure || (limited && memoryEvidence(this.tempDir)),
          memoryLimited: call.info.limits.memoryBytes !== undefined,
          cpuLimited: call.info.limits.cpuMs !== undefined,
          output: this.output.lastLines(),
          workerPid: this.pid,
          operation: call.info.operation,
          transport: this.transport,
        }),
      );
    }
    // Calls queued behind the one that died never started: the pool runs them elsewhere.
    for (const waiting of this.calls.splice(0)) {
      this.forget(waiting);
      if (!waiting.dropped) this.rejectAll(waiting, new NotStarted(`worker ${this.pid} died before the call started`) as AirlockError);
    }
    liveWorkers.delete(this);
    this.endReason = endReason(this.pendingIntent, call !== undefined);
    for (const listener of this.exitListeners.splice(0)) listener(exit);
    // The callers have heard; the rest of the clean-up waits a turn, so that a call made at once
    // in a rejection handler (the next input after a crash) goes out to another worker before it.
    // Not when the host closes: close() resolves after the clean-up, and a call rejected by the
    // close must not sit unhandled for a turn before its caller, awaiting close(), gets to it.
    if (this.pendingIntent?.kind !== 'close') await new Promise<void>((resolve) => setImmediate(resolve));
    this.connection.dispose();
    for (const stream of [this.spawned.child.stdout, this.spawned.child.stderr, this.spawned.child.stdio[3]]) {
      (stream as Readable | null)?.destroy();
    }
    releaseRemains(this.spawned, this.groupPid, new Set([process.pid, ...[...liveWorkers].map((worker) => worker.groupPid)]));
    return exit;
  }
}

/** Waits for `promise`, but at most `ms`; the timer goes with it (it never holds the event loop). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** A call with a limit only this host's /proc watch enforces, sent to a worker on another machine. */
function unwatchedLimit(transport: string, workerPid: number): AirlockError {
  return new AirlockError(
    'INVALID_ARGUMENT',
    `maxProcesses cannot be enforced on a worker reached through ${transport}: the host counts a worker's processes in its own /proc, and a remote worker's are not there (leave maxProcesses out of calls that may run there, or run them on local workers)`,
    { workerPid, details: { limit: 'maxProcesses', transport } },
  );
}

function cancelled(reason: unknown, workerPid: number): AirlockError {
  return new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: reason, workerPid });
}

/** Every worker of this process still alive, killed synchronously if the host process exits. */
const liveWorkers = new Set<WorkerProcess>();
process.once('exit', () => {
  for (const worker of liveWorkers) killTree(worker.groupPid);
});
