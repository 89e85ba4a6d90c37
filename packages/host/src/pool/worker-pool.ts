import PQueue from 'p-queue';
import { AirlockError } from '../errors/airlock-error.js';
import { NotStarted, StartFailure, type WorkerLaunch, WorkerProcess } from '../worker/worker-process.js';
import { StartBreaker } from './start-breaker.js';
import type { PoolMonitor } from '../observe/host-monitor.js';

/**
 * A fixed number of worker slots. A call that finds a worker ready runs on it at once; the
 * others wait in a p-queue whose concurrency is the room those leave (the slots times the
 * pipeline); each call the queue starts takes an idle worker or starts one. A worker runs one
 * call at a time, so a crash, a timeout or a limit belongs to exactly one call. A worker that
 * died is simply not returned: the next call starts a fresh one. Nothing is ever replayed.
 *
 * Unless workers are shared, a worker serves the first library it is given for its lifetime:
 * a call for another library takes a worker that serves it, a fresh one, or the place of the
 * longest-idle worker of another library (which is closed). The slots count them all.
 */
export class WorkerPool {
  private readonly queue: PQueue;
  private readonly idle: WorkerProcess[] = [];
  private readonly all = new Set<WorkerProcess>();
  /** The pool's own workers (not the sessions'). */
  private readonly slots = new Set<WorkerProcess>();
  private readonly starting = new Set<Promise<WorkerProcess>>();
  /** Every start() under way, to its very end. */
  private readonly starts = new Set<Promise<void>>();
  /**
   * Workers started ahead of any call (eager start, a replacement for one that died), each
   * taken by the next call that finds no idle worker, so that no call starts one more.
   */
  private readonly ahead: AheadWorker[] = [];
  /** Each group's start breaker: a remote machine that is down stops only its own group's starts. */
  private readonly breakers: StartBreaker[];
  /** Each group's workers in the pool, started or starting (a group takes its share of the slots). */
  private readonly groupLive: number[];
  private readonly groupSizes: number[];
  private closed = false;
  /** A top-up of the standby workers is due at the next turn. */
  private topUpPending = false;
  /** Whether a slot's worker has ended under the pool lately (what `standby: 'auto'` waits for). */
  private workerLost = false;
  /** Ends `standby: 'auto'`'s spares once no worker has ended for a while. */
  private lossQuietTimer: NodeJS.Timeout | undefined;
  /** Calls waiting in the queue, rejected by close(); a running call is left to finish. */
  private readonly waiting = new Set<(error: AirlockError) => void>();
  /** Bumped by renew(): workers started before serve no new call. */
  private generation = 0;
  private renewReason = '';
  private readonly generations = new WeakMap<WorkerProcess, number>();
  /** The library each worker serves (unless shared): given by the first call that took it. */
  private readonly owners = new WeakMap<WorkerProcess, string>();
  /** Workers started for a call's library and not yet taken by that call (see start). */
  private readonly startedFor = new WeakSet<WorkerProcess>();
  /** Calls running outside the queue (see runDirect). */
  private direct = 0;
  /** Wakes a pipelined call waiting for a worker of its library to have room. */
  private roomWaiters: Array<() => void> = [];

  readonly size: number;
  /** Calls a worker may be sent before it has answered the first (1: one at a time): the most of any group's. */
  readonly pipeline: number;
  /** Calls the pool's workers may hold at once, all groups together. */
  private readonly capacity: number;
  /** Each group's pipeline (its own, or the pool's). */
  private readonly groupPipelines: number[];
  /** The pipeline of each pool worker: its group's. */
  private readonly depths = new WeakMap<WorkerProcess, number>();
  private readonly standbyOption: number | 'auto';
  private readonly shared: boolean;
  private readonly monitor: PoolMonitor | undefined;
  private readonly maxQueue: number;
  private readonly idleTimeoutMs: number | undefined;
  /** Timers ending workers idle for idleTimeoutMs. */
  private readonly idleTimers = new Map<WorkerProcess, NodeJS.Timeout>();

  constructor(
    private readonly launch: (group: number) => WorkerLaunch,
    options: PoolOptions,
  ) {
    this.groupSizes = options.groups ?? [options.size];
    this.groupLive = this.groupSizes.map(() => 0);
    this.size = this.groupSizes.reduce((sum, count) => sum + count, 0);
    this.groupPipelines = this.groupSizes.map((_, group) => options.groupPipelines?.[group] ?? options.pipeline ?? 1);
    this.pipeline = Math.max(...this.groupPipelines);
    this.standbyOption = options.standby ?? 'auto';
    this.shared = options.shared ?? false;
    this.monitor = options.monitor;
    this.maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.capacity = this.groupSizes.reduce((sum, count, group) => sum + count * this.groupPipelines[group]!, 0);
    this.queue = new PQueue({ concurrency: this.capacity });
    const { threshold, cooldownMs, maxCooldownMs } = options.breaker;
    this.breakers = this.groupSizes.map(() => new StartBreaker(threshold, cooldownMs, maxCooldownMs));
  }

  /** Whether no group can start a worker now (every breaker is open). */
  private get blocked(): boolean {
    return this.breakers.every((breaker) => breaker.open);
  }

  /**
   * The group a new pool worker joins: of those whose breaker is closed, the one with the
   * smallest share of its count in the pool (the first, on a tie). Throws UNAVAILABLE (the
   * breaker's) when none can start one.
   */
  private pickGroup(tried?: ReadonlySet<number>): number {
    let best = -1;
    for (let group = 0; group < this.groupSizes.length; group += 1) {
      if (this.breakers[group]!.open || tried?.has(group)) continue;
      if (best < 0 || this.groupLive[group]! / this.groupSizes[group]! < this.groupLive[best]! / this.groupSizes[best]!) best = group;
    }
    if (best < 0) this.breakers[0]!.check();
    return Math.max(best, 0);
  }

  /**
   * Runs `task` with a worker of its own; waits in line for a free slot. `signal` and close()
   * reject a call while it waits; once it runs, its worker settles it (a cancelled call's
   * worker is killed and the call rejects at once with CANCELLED; a call running when the host
   * closes may finish within the grace period).
   */
  run<T>(task: (worker: WorkerProcess) => Promise<T>, signal?: AbortSignal, library?: string): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(cancelledWaiting(signal));
    // The hot path: nothing waits, and a worker can take the call now. p-queue, its events and
    // the promise layers of the waiting path cost more than the rest of a call on the host.
    if (this.queue.size === 0 && this.queue.pending + this.direct < this.capacity) {
      const worker = this.readyWorker(library);
      if (worker !== undefined) return this.runDirect(task, worker, signal, library);
    }
    if (this.queue.size >= this.maxQueue && this.queue.pending + this.direct >= this.capacity) {
      return Promise.reject(
        new AirlockError('UNAVAILABLE', `The host's queue is full: ${this.queue.size} call(s) wait for a worker (maxQueue ${this.maxQueue}); try again once some have settled`, {
          details: { queued: this.queue.size, maxQueue: this.maxQueue },
        }),
      );
    }
    return this.runQueued(task, signal, library);
  }

  /**
   * A worker that can take a call of `library` at once, without waiting or starting one, when
   * the waiting path (acquire) would take that very worker: an idle one; with pipelining, once
   * every slot has its worker and no standby one waits, the least loaded with room.
   */
  private readyWorker(library: string | undefined): WorkerProcess | undefined {
    const key = this.shared ? undefined : library;
    const idle = this.takeIdleFor(key);
    if (idle !== undefined) return idle;
    // Where the waiting path would take a standby worker or start one (a slot without a worker,
    // or the place of an idle worker of another library), the call goes that way.
    if (this.pipeline === 1 || this.ahead.length > 0 || this.idle.length > 0 || this.slots.size + this.starting.size < this.size) return undefined;
    return this.leastLoadedWithRoom(key);
  }

  /** The most recently idle worker that may take a call of `key` now, out of the idle list (those found unfit leave it too). */
  private takeIdleFor(key: string | undefined): WorkerProcess | undefined {
    for (let index = this.idleFor(key); index >= 0; index = this.idleFor(key)) {
      const worker = this.takeIdle(index);
      if (this.fresh(worker) && worker.load === 0) return worker;
    }
    return undefined;
  }

  /** The slot's worker serving `key` with the fewest calls, if one has room for another in its pipeline. */
  private leastLoadedWithRoom(key: string | undefined): WorkerProcess | undefined {
    let best: WorkerProcess | undefined;
    for (const worker of this.slots) {
      if (this.serves(worker, key) && this.fresh(worker) && worker.load < (this.depths.get(worker) ?? this.pipeline) && (best === undefined || worker.load < best.load)) best = worker;
    }
    return best;
  }

  /** Runs `task` on `worker` outside the queue; the queue's concurrency gives up the slot meanwhile. */
  private runDirect<T>(task: (worker: WorkerProcess) => Promise<T>, worker: WorkerProcess, signal: AbortSignal | undefined, library: string | undefined): Promise<T> {
    this.topUpStandbySoon();
    this.holdDirect(1);
    const claimed = this.claim(worker, library);
    let running: Promise<T>;
    try {
      running = task(worker);
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (value) => {
        // The worker goes back first: a queued call the freed slot starts may take it.
        this.release(worker);
        this.holdDirect(-1);
        return value;
      },
      (error: unknown) => {
        if (claimed && error instanceof AirlockError && error.code === 'LOAD_ERROR') this.owners.delete(worker);
        this.release(worker);
        this.holdDirect(-1);
        // Refused before it started (its worker retired or died first): it runs elsewhere.
        if (error instanceof NotStarted) return this.runQueued(task, signal, library);
        throw error;
      },
    );
  }

  /** Counts calls running outside the queue: the queue starts only as many as the slots have room for. */
  private holdDirect(delta: number): void {
    this.direct += delta;
    const room = this.capacity - this.direct;
    if (room <= 0) {
      this.queue.pause();
      return;
    }
    if (this.queue.concurrency !== room) this.queue.concurrency = room;
    if (this.queue.isPaused) this.queue.start();
  }

  /** Runs `task` once a slot is free and a worker is there (started if need be), in the order calls came. */
  private runQueued<T>(task: (worker: WorkerProcess) => Promise<T>, signal: AbortSignal | undefined, library: string | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const rejectWaiting = (error: AirlockError) => reject(error);
      this.waiting.add(rejectWaiting);
      // p-queue stops waiting for a task whose signal aborts even while it runs (and frees its
      // slot while the worker still runs): it gets a signal of ours, aborted only while the
      // call waits. A running call is settled by its worker (CANCELLED at once, with its pid).
      // A call without a signal makes none (an AbortController per call costs the hot path).
      const whileWaiting = signal && new AbortController();
      const onAbort = () => whileWaiting?.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const started = () => {
        this.waiting.delete(rejectWaiting);
        signal?.removeEventListener('abort', onAbort);
      };
      this.queue
        .add(
          async () => {
            started();
            // A pipelined call queued behind one that killed its worker never started: it runs
            // on another worker. A call that started is never run twice.
            for (;;) {
              const worker = await this.acquireUnlessAborted(signal, library);
              const claimed = this.claim(worker, library);
              try {
                return await task(worker);
              } catch (error) {
                // A library that did not load left the worker serving none: another library's call may take it.
                if (claimed && error instanceof AirlockError && error.code === 'LOAD_ERROR') this.owners.delete(worker);
                if (!(error instanceof NotStarted)) throw error;
              } finally {
                this.release(worker);
              }
            }
          },
          whileWaiting ? { signal: whileWaiting.signal } : NO_QUEUE_OPTIONS,
        )
        .then(resolve as (value: unknown) => void, (error: unknown) => {
          started();
          if (error instanceof AirlockError) return reject(error);
          if (signal?.aborted) return reject(cancelledWaiting(signal));
          reject(error);
        });
    });
  }

  /** Takes a worker; a call aborted while its worker starts settles at once (the worker stays for the next call). */
  private async acquireUnlessAborted(signal: AbortSignal | undefined, library: string | undefined): Promise<WorkerProcess> {
    const acquiring = this.acquire(library);
    if (!signal) return acquiring;
    if (signal.aborted) {
      void acquiring.then((worker) => this.release(worker), () => undefined);
      throw cancelledWaiting(signal);
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelledWaiting(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([acquiring, aborted]);
    } catch (error) {
      void acquiring.then((worker) => this.release(worker), () => undefined);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  /**
   * Workers started before now serve no new call: they retire once their calls have settled (an
   * idle one at once), and calls go to workers started from now on (a sandbox shows them more).
   */
  renew(reason: string): void {
    this.generation += 1;
    this.renewReason = reason;
    while (this.idle.length > 0) this.takeIdle(0).renew(reason);
  }

  /** Whether a worker may take a new call: usable, and started since the last renew() (an older one is retired). */
  private fresh(worker: WorkerProcess): boolean {
    if (!worker.usable) return false;
    if ((this.generations.get(worker) ?? 0) >= this.generation) return true;
    worker.renew(this.renewReason);
    return false;
  }

  /**
   * Starts a worker that belongs to nobody but the caller (a session, a sandboxed command),
   * launched as `launch` says; `group` is the group whose start breaker counts it.
   */
  async dedicated(launch: WorkerLaunch, group = 0): Promise<WorkerProcess> {
    return this.start(true, launch, undefined, group);
  }

  /** Starts every slot's worker now, and the standby ones (the next calls take them). */
  async warm(): Promise<void> {
    const missing = this.size - this.all.size - this.starting.size;
    for (let i = 0; i < missing; i += 1) this.startAhead();
    this.topUpStandby();
    await Promise.all(this.ahead.map((entry) => entry.starting));
  }

  /** A worker started ahead of calls, if one is there or on its way: one that has started first. */
  private async takeAhead(): Promise<WorkerProcess | undefined> {
    while (this.ahead.length > 0) {
      const started = this.ahead.findIndex((entry) => entry.settled);
      const entry = this.ahead.splice(started >= 0 ? started : 0, 1)[0]!;
      const worker = await entry.starting;
      this.topUpStandbySoon();
      if (worker !== undefined && this.fresh(worker) && worker.load === 0) return worker;
    }
    return undefined;
  }

  /** Starts a worker ahead of calls: the next call that finds no idle worker takes it. */
  private startAhead(): void {
    const entry: AheadWorker = { starting: Promise.resolve(undefined), settled: false };
    entry.starting = this.start().then(
      (worker) => {
        entry.settled = true;
        entry.worker = worker;
        return worker;
      },
      () => {
        entry.settled = true;
        return undefined;
      },
    );
    this.ahead.push(entry);
  }

  /** How many standby workers to keep now. */
  private get standby(): number {
    if (this.standbyOption !== 'auto') return this.standbyOption;
    return this.workerLost ? AUTO_STANDBY : 0;
  }

  /**
   * Tops up the standby workers once the call at hand is on its way: a spawn blocks this
   * process for a few milliseconds (the fork), which the call taking a standby worker after a
   * crash must not wait for.
   */
  private topUpStandbySoon(): void {
    if (this.topUpPending || this.standby === 0) return;
    this.topUpPending = true;
    setImmediate(() => {
      this.topUpPending = false;
      this.topUpStandby();
    });
  }

  /**
   * A slot's worker ended under the pool: `standby: 'auto'` keeps spares from now until no
   * worker has ended for AUTO_STANDBY_QUIET_MS (or `idleTimeoutMs`, if shorter).
   */
  private lostWorker(): void {
    this.workerLost = true;
    if (this.standbyOption !== 'auto') return;
    clearTimeout(this.lossQuietTimer);
    this.lossQuietTimer = setTimeout(() => this.endSpares(), Math.min(AUTO_STANDBY_QUIET_MS, this.idleTimeoutMs ?? Number.POSITIVE_INFINITY));
    this.lossQuietTimer.unref();
  }

  /** Workers have stopped ending: `standby: 'auto'` ends the spares no call took (the slots' own workers stay). */
  private endSpares(): void {
    this.lossQuietTimer = undefined;
    this.workerLost = false;
    if (this.closed) return;
    let spares = this.slots.size - this.size;
    for (let i = this.ahead.length - 1; i >= 0 && spares > 0; i -= 1) {
      const entry = this.ahead[i]!;
      if (entry.worker === undefined || entry.worker.load > 0) continue;
      this.ahead.splice(i, 1);
      this.slots.delete(entry.worker);
      spares -= 1;
      void entry.worker.close(0);
    }
  }

  /** Keeps `standby` workers started or starting ahead of calls (none while the breaker is open). */
  private topUpStandby(): void {
    if (this.standby === 0 || this.closed || this.blocked) return;
    while (this.ahead.length < this.standby) this.startAhead();
  }

  /** How many workers are idle, busy (holding calls, or a session's or command's own) and starting. */
  get workerCounts(): { idle: number; busy: number; starting: number } {
    const standby = this.ahead.filter((entry) => entry.worker !== undefined && entry.worker.usable).length;
    const idle = this.idle.length + standby;
    return { idle, busy: this.all.size - idle, starting: this.starting.size };
  }

  /** Calls waiting for a slot, and calls holding one. */
  get callCounts(): { queued: number; running: number } {
    return { queued: this.queue.size, running: this.queue.pending + this.direct };
  }

  /** Pids of the live workers. */
  get pids(): number[] {
    return [...this.all].map((worker) => worker.pid);
  }

  /** Takes a worker for a call of `library` (undefined: a command, which any worker runs). */
  private async acquire(library: string | undefined): Promise<WorkerProcess> {
    this.topUpStandbySoon();
    const key = this.shared ? undefined : library;
    return this.pipeline > 1 ? this.acquirePipelined(key) : this.acquireOne(key);
  }

  /** Makes a worker that serves no library yet the one of `library`; whether it did. */
  private claim(worker: WorkerProcess, library: string | undefined): boolean {
    // Started for this call's library: it serves it already, and the claim is this call's.
    if (this.startedFor.delete(worker)) return true;
    if (this.shared || library === undefined || this.owners.has(worker)) return false;
    this.owners.set(worker, library);
    return true;
  }

  /**
   * The idle worker a call of `key` takes (its index, -1 for none): the most recently idle of
   * those serving that library, else of those serving none yet (the library's code is loaded
   * once rather than in every worker).
   */
  private idleFor(key: string | undefined): number {
    let unowned = -1;
    for (let i = this.idle.length - 1; i >= 0; i -= 1) {
      const owner = this.owners.get(this.idle[i]!);
      if (key === undefined || owner === key) return i;
      if (owner === undefined && unowned < 0) unowned = i;
    }
    return unowned;
  }

  /** Whether a worker may take a call of `key` (undefined: any worker may). */
  private serves(worker: WorkerProcess, key: string | undefined): boolean {
    if (key === undefined) return true;
    const owner = this.owners.get(worker);
    return owner === undefined || owner === key;
  }

  /** One call at a time per worker: an idle worker of the library, a standby one, a new one. */
  private async acquireOne(key: string | undefined): Promise<WorkerProcess> {
    for (let index = this.idleFor(key); index >= 0; index = this.idleFor(key)) {
      const worker = this.takeIdle(index);
      if (this.fresh(worker)) return worker;
    }
    const ahead = await this.takeAhead();
    if (ahead !== undefined) return ahead;
    this.makeRoom(key);
    return this.start(false, undefined, key);
  }

  /**
   * Before a worker is started for `key` when every slot has one: the longest-idle worker
   * serving another library gives its place up (it is closed).
   */
  private makeRoom(key: string | undefined): boolean {
    if (key === undefined || this.slots.size + this.starting.size < this.size) return false;
    const index = this.idle.findIndex((worker) => !this.serves(worker, key));
    if (index < 0) return false;
    const evicted = this.takeIdle(index);
    this.slots.delete(evicted!);
    void evicted!.close(0);
    return true;
  }

  /**
   * With pipelining: an idle worker first; else a new one while there are fewer than `size`;
   * else the least loaded that can take one more call; else wait for a worker being started.
   */
  private async acquirePipelined(key: string | undefined): Promise<WorkerProcess> {
    for (;;) {
      const idle = this.takeIdleFor(key);
      if (idle !== undefined) return idle;
      const ahead = await this.takeAhead();
      if (ahead !== undefined) return ahead;
      if (this.slots.size + this.starting.size < this.size || this.makeRoom(key)) return this.start(false, undefined, key);
      const best = this.leastLoadedWithRoom(key);
      if (best !== undefined) return best;
      // Slots busy with another library's calls free up as those settle; slots whose workers are
      // ending (retiring, renewed) may never wake anyone: a worker is started past them.
      const busyElsewhere = [...this.slots].some((worker) => worker.usable && worker.load > 0 && !this.serves(worker, key));
      if (!busyElsewhere && this.starting.size === 0) return this.start(false, undefined, key);
      await new Promise<void>((wake) => {
        this.roomWaiters.push(wake);
        if (this.starting.size > 0) void Promise.race([...this.starting].map((starting) => starting.catch(() => undefined))).then(() => wake());
      });
    }
  }

  /** Wakes the pipelined calls waiting for room (they look again). */
  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    if (waiters.length === 0) return;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Starts a replacement as soon as a slot's worker dies, so that the call after a crash does
   * not wait for a worker to start (a harness throwing crashing inputs pays one start per crash
   * otherwise). Start failures go to the breaker as for any start; an open breaker starts none.
   */
  private replace(): void {
    if (this.standby > 0) return this.topUpStandby();
    if (this.closed || this.ahead.length > 0 || this.blocked) return;
    // A call that found no idle worker may have started one already.
    if (this.slots.size + this.starting.size >= this.size) return;
    this.startAhead();
  }

  private release(worker: WorkerProcess): void {
    this.wakeRoomWaiters();
    if (this.closed || !this.fresh(worker)) return;
    if (this.pipeline > 1 && (worker.load > 0 || this.idle.includes(worker))) return;
    // A worker whose call was cancelled while it started may come back when every slot already
    // has one: more idle workers than slots would only cost memory.
    if (this.idle.length >= this.size) {
      void worker.close(0);
      return;
    }
    this.idle.push(worker);
    if (this.idleTimeoutMs !== undefined) {
      clearTimeout(this.idleTimers.get(worker));
      const timer = setTimeout(() => this.endIdle(worker), this.idleTimeoutMs);
      timer.unref();
      this.idleTimers.set(worker, timer);
    }
  }

  /** Ends a worker that stayed idle for idleTimeoutMs (the next call starts one again). */
  private endIdle(worker: WorkerProcess): void {
    this.idleTimers.delete(worker);
    const index = this.idle.indexOf(worker);
    if (index < 0 || this.closed) return;
    this.idle.splice(index, 1);
    this.slots.delete(worker);
    void worker.close(0);
  }

  /** Takes a worker out of the idle list (a call has it now): its idle clock stops. */
  private takeIdle(index: number): WorkerProcess {
    const [worker] = this.idle.splice(index, 1);
    const timer = this.idleTimers.get(worker!);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.idleTimers.delete(worker!);
    }
    return worker!;
  }

  /**
   * Starts a worker. `owner`: the library of the call it is started for, which it serves from
   * the moment it is ready (a call waking up in between must not take it for another library).
   */
  private start(dedicated = false, launch?: WorkerLaunch, owner?: string, group = 0): Promise<WorkerProcess> {
    // close() waits for every start to end, including a worker that started after the close
    // began and is being closed again.
    const starting = this.startWorker(dedicated, launch, owner, group);
    const settled = starting.then(() => undefined, () => undefined);
    this.starts.add(settled);
    void settled.then(() => this.starts.delete(settled));
    return starting;
  }

  /**
   * Starts a worker of the group with the most room; when it cannot start, one of another group
   * whose breaker is closed (a machine that is down does not fail calls others can run).
   */
  private async startWorker(dedicated: boolean, launch: WorkerLaunch | undefined, owner: string | undefined, group: number): Promise<WorkerProcess> {
    // A worker of the caller's own launch (a session's) counts in the group it names.
    if (launch !== undefined || this.groupSizes.length === 1) return this.startInGroup(dedicated, launch !== undefined ? group : 0, launch, owner);
    const tried = new Set<number>();
    for (;;) {
      const group = this.pickGroup(tried);
      try {
        return await this.startInGroup(dedicated, group, undefined, owner);
      } catch (error) {
        tried.add(group);
        const another = this.groupSizes.some((_, other) => !tried.has(other) && !this.breakers[other]!.open);
        if (!another || !(error instanceof AirlockError) || !(error.cause instanceof StartFailure)) throw error;
      }
    }
  }

  private async startInGroup(dedicated: boolean, group: number, launch: WorkerLaunch | undefined, owner: string | undefined): Promise<WorkerProcess> {
    if (this.closed) throw closedError();
    const breaker = this.breakers[group]!;
    breaker.check();
    const generation = this.generation;
    const spec = launch ?? this.launch(group);
    const starting = WorkerProcess.start(this.monitor === undefined ? spec : { ...spec, monitor: this.monitor });
    this.starting.add(starting);
    const counted = !dedicated;
    if (counted) this.groupLive[group]! += 1;
    let live = false;
    try {
      const worker = await starting;
      live = true;
      breaker.succeeded();
      if (this.closed) {
        await worker.close(0);
        throw closedError();
      }
      this.generations.set(worker, generation);
      this.depths.set(worker, this.groupPipelines[group]!);
      if (owner !== undefined && !this.shared) {
        this.owners.set(worker, owner);
        this.startedFor.add(worker);
      }
      this.all.add(worker);
      if (!dedicated) this.slots.add(worker);
      this.monitor?.workerStarted({ pid: worker.pid, where: worker.where, startMs: worker.readyAt - worker.spawnedAt, spawnedAt: worker.spawnedAt, readyAt: worker.readyAt });
      worker.onExitOnce((exit) => {
        if (counted) this.groupLive[group]! -= 1;
        this.monitor?.workerExited({ pid: worker.pid, where: worker.where, exitCode: exit.exitCode, signal: exit.signal, reason: worker.endReason ?? 'exited' });
        this.all.delete(worker);
        this.slots.delete(worker);
        this.wakeRoomWaiters();
        const index = this.idle.indexOf(worker);
        if (index >= 0) this.takeIdle(index);
        if (dedicated) return;
        if (!this.closed && !worker.closedByHost) this.lostWorker();
        // A turn later: a spawn blocks this process for the fork, and the call a caller makes
        // at once after the crash goes first (to a standby worker, if there is one).
        setImmediate(() => this.replace());
      });
      return worker;
    } catch (error) {
      if (counted && !live) this.groupLive[group]! -= 1;
      if (error instanceof StartFailure) {
        breaker.failed(error.message);
        throw new AirlockError('UNAVAILABLE', `Cannot start a worker: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      this.starting.delete(starting);
    }
  }

  /** Ends every worker; calls still queued are rejected, running ones settle as their workers end. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.lossQuietTimer);
    this.queue.clear();
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    for (const rejectWaiting of this.waiting) rejectWaiting(closedError());
    this.waiting.clear();
    await Promise.all([...this.starts]);
    await Promise.all([...this.all].map((worker) => worker.close(graceMs)));
    this.idle.length = 0;
  }
}

/** How a pool is made (the host's options of the same names). */
export interface PoolOptions {
  /** Worker slots (`workers`), when there is one group. */
  size: number;
  /** The slots of each group of workers (`workers` as groups): the launch factory is given a group's index. Default `[size]`. */
  groups?: number[] | undefined;
  /** Each group's own pipeline, where it has one (default: `pipeline`). */
  groupPipelines?: Array<number | undefined> | undefined;
  breaker: { threshold: number; cooldownMs: number; maxCooldownMs: number };
  pipeline?: number;
  standby?: number | 'auto';
  /** `shareWorkers`. */
  shared?: boolean;
  /** Told of every worker's start and end, and (through each worker) of every call. */
  monitor?: PoolMonitor | undefined;
  /** Calls that may wait for a slot before more are refused. */
  maxQueue?: number | undefined;
  /** How long a worker may stay idle before it is ended. */
  idleTimeoutMs?: number | undefined;
}

/** Standby workers kept by `standby: 'auto'` once a worker has ended under the pool. */
const AUTO_STANDBY = 2;
/** How long `standby: 'auto'` keeps its spares after the last worker that ended (unless idleTimeoutMs is shorter). */
const AUTO_STANDBY_QUIET_MS = 30_000;
/** The p-queue options of a call without a signal (one object for all of them). */
const NO_QUEUE_OPTIONS = Object.freeze({});

/** A worker started ahead of any call, and whether its start has ended. */
interface AheadWorker {
  starting: Promise<WorkerProcess | undefined>;
  settled: boolean;
  /** The worker, once started. */
  worker?: WorkerProcess;
}

function cancelledWaiting(signal: AbortSignal): AirlockError {
  return new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: signal.reason });
}

function closedError(): AirlockError {
  return new AirlockError('UNAVAILABLE', 'The host is closed');
}
