import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type Abi,
  ArgumentError,
  type CallSignature,
  type ExecParams,
  type InspectResult,
  type Limits,
  PrototypeError,
  buildSignature,
  checkArguments,
  checkCResult,
  decodeValue,
  ResultError,
  encodeValue,
  isPrototype,
  isVaccelArgumentsShape,
  plainNumberArguments,
  withArticle,
} from '@airlock/protocol';
import { AirlockError } from './errors/airlock-error.js';
import {
  type CallManyOptions,
  CallManyOptionsSchema,
  type CallOptions,
  CallOptionsSchema,
  DEFAULT_LIMITS,
  type HostOptions,
  HostOptionsSchema,
  type ResolvedHostOptions,
  mergeLimits,
  parseOptions,
} from './options/host-options.js';
import { WorkerPool } from './pool/worker-pool.js';
import { workerLaunch } from './worker/worker-launch.js';
import { LibraryShipper } from './remote/ship.js';
import { type CallOutcome, NotStarted, type WorkerProcess } from './worker/worker-process.js';
import { type ExecResult, execCommand } from './exec/run-exec.js';
import type { ExecSpec } from './exec/exec-spec.js';
import { DEFAULT_RUNDIR_PARENT, Session, type SessionOptions, SessionOptionsSchema, nextSessionId, sessionPlace } from './session/session.js';
import { SandboxOptionsSchema, sandboxPolicy } from './sandbox/sandbox-options.js';
import { execPaths } from './sandbox/exec-paths.js';
import { removeTrackedDir } from './lifecycle/janitor.js';
import { SandboxView } from './sandbox/sandbox-view.js';
import { EventEmitter } from 'node:events';
import { HostMonitor, type HostEvents, type HostStats } from './observe/host-monitor.js';
import { logTo } from './observe/host-logger.js';
import { noteCallWorker } from './observe/call-worker.js';
import { wasReported } from './worker/call-meter.js';
import { type AnyAsyncFunction, type BoundFunction, bindFunction } from './bind/bound-function.js';
import type { PrototypeFunction } from './bind/prototype-types.js';

/** What `host.inspect` reports about a library. */
export type LibraryInfo = InspectResult;

/**
 * An airlock host: a pool of supervised worker processes and the calls users make through
 * them. Create it with `createHost`. It is an EventEmitter of its workers' lives and of every
 * settled call (see HostEvents): `'worker-start'`, `'worker-exit'`, `'worker-retire'`, `'call'`.
 */
export class Host extends EventEmitter<HostEvents> implements AsyncDisposable {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedHostOptions;
  /** Limits of every call unless overridden (DEFAULT_LIMITS, then the host's options). */
  readonly limits: Limits;
  private readonly pool: WorkerPool;
  private readonly signatures = new Map<string, CallSignature>();
  private readonly targets = new Map<string, string>();
  private readonly plainCall: { options: ReturnType<typeof CallOptionsSchema.parse>; workerLimits: ReturnType<typeof workerSide> };
  private closing: Promise<void> | undefined;
  private readonly sessions = new Set<Session>();
  /** What sandboxed workers see (undefined: no sandbox). */
  private readonly sandbox: SandboxView | undefined;
  private readonly monitor: HostMonitor;
  private readonly shipper = new LibraryShipper();

  constructor(options: HostOptions = {}) {
    super();
    this.options = parseOptions(HostOptionsSchema, options, 'host options');
    this.monitor = new HostMonitor(this, this.options.callOutput);
    if (this.options.logger !== undefined) logTo(this, this.options.logger);
    if (this.options.cwd !== undefined) checkDirectory(this.options.cwd, 'cwd');
    this.limits = mergeLimits({ ...DEFAULT_LIMITS }, this.options.limits);
    this.plainCall = { options: parseOptions(CallOptionsSchema, {}, 'call options'), workerLimits: workerSide(this.limits) };
    const policy = sandboxPolicy(this.options.sandbox, this.options.cwd ?? process.cwd());
    this.sandbox = policy && new SandboxView(policy);
    const { breakerThreshold: threshold, breakerCooldownMs: cooldownMs, breakerMaxCooldownMs: maxCooldownMs } = this.options;
    const groups = this.options.workers;
    if (this.sandbox !== undefined && groups.some((group) => group.launcher !== undefined)) {
      throw new AirlockError('INVALID_ARGUMENT', 'Invalid host options: sandbox runs local workers in bubblewrap; a group with a launcher runs its workers on another machine, which this host cannot sandbox (sandbox them there, or leave sandbox out)');
    }
    this.pool = new WorkerPool((group) => workerLaunch(this.options, this.sandbox?.spawn(), undefined, groups[group]), {
      size: groups.reduce((sum, group) => sum + group.count, 0),
      groups: groups.map((group) => group.count),
      groupPipelines: groups.map((group) => group.pipeline),
      breaker: { threshold, cooldownMs, maxCooldownMs },
      pipeline: this.options.pipeline,
      standby: this.options.standby,
      shared: this.options.shareWorkers,
      monitor: this.monitor,
      maxQueue: this.options.maxQueue,
      idleTimeoutMs: this.options.idleTimeoutMs,
    });
    if (this.options.eager) void this.pool.warm();
  }

  /**
   * Calls `fn` of `library` in a worker. `fn` is a C prototype (`'int add(int a, int b)'`) or,
   * for the Arroyo and vAccel ABIs, a symbol name. Resolves to the function's result; rejects
   * with an AirlockError.
   */
  async call<T = unknown>(library: string, fn: string, args: unknown = [], options: CallOptions = {}): Promise<T> {
    try {
      return await this.callOnce<T>(library, fn, args, options);
    } catch (error) {
      this.reportUnrun(library, fn, error);
      throw error;
    }
  }

  /** A call that never reached a worker (bad arguments, a closed host, no worker to start, cancelled while it waited) is counted and reported here. */
  private reportUnrun(library: string, fn: string, error: unknown): void {
    if (!(error instanceof AirlockError) || wasReported(error)) return;
    this.monitor.callSettled({ library, fn, outcome: error.code, durationMs: 0, cpuMs: undefined, peakRssBytes: undefined, workerPid: undefined });
  }

  /** What the host has: its workers, the calls waiting and running, and the calls settled so far by outcome. */
  stats(): HostStats {
    return { workers: this.pool.workerCounts, ...this.pool.callCounts, calls: { ...this.monitor.calls } };
  }

  private async callOnce<T>(library: string, fn: string, args: unknown, options: CallOptions): Promise<T> {
    this.assertOpen();
    // The common call passes no options: its parsed options and limits are computed once.
    const plain = isEmpty(options);
    const opts = plain ? this.plainCall.options : parseOptions(CallOptionsSchema, options, 'call options');
    const target = this.checkTarget(library, fn);
    if (this.sandbox !== undefined && !this.sandbox.shows(target)) await this.show(target);
    const abi = inferAbi(opts.abi, fn, args);
    const { signature, wire: wireArgs } = this.checkArguments(abi, fn, args);
    const limits = plain ? this.limits : mergeLimits(this.limits, opts);
    const workerLimits = plain ? this.plainCall.workerLimits : workerSide(limits);
    const ship = opts.ship ?? (this.options.ship || undefined);
    const sha256 = ship === true ? this.shipper.digest(target, opts.sha256) : opts.sha256;
    const params = {
      library: target,
      fn,
      abi,
      args: wireArgs,
      limits: workerLimits,
      ...(sha256 !== undefined && { sha256 }),
      vaccelLayout: opts.vaccelArgLayout ?? this.options.vaccelArgLayout,
    };
    const operation = `calling ${fn} in ${library}`;
    return this.pool.run(
      (worker) => {
        noteCallWorker(opts.signal, worker.pid, worker.where);
        const info = { limits, operation, signal: opts.signal, accept: (result: unknown) => acceptResult(result, signature, args, abi, worker.pid) };
        if (!shipsTo(worker, ship, sha256)) return worker.request('call', params, info);
        return this.shipper.stage(worker, target, sha256!, info).then(() => worker.request('call', { ...params, shipped: true }, info));
      },
      opts.signal,
      target,
    ) as Promise<T>;
  }

  /**
   * Calls `fn` of `library` once per element of `argsList` (each an argument list, as `call`
   * takes). Resolves, once every element has settled, to an array in the order of `argsList`
   * shaped like `Promise.allSettled`'s: `{ status: 'fulfilled', value }` or
   * `{ status: 'rejected', reason: AirlockError }`. Elements travel to the workers in chunks and
   * run back to back; each has the limits of a call, its own clock and its own outcome: a crash,
   * timeout or limit in element k settles element k only, elements after it that had not started
   * run on a fresh worker, and none runs twice. An argument list that is invalid rejects the
   * whole batch with INVALID_ARGUMENT (naming its index) before anything runs.
   */
  async callMany<T = unknown>(library: string, fn: string, argsList: readonly unknown[], options: CallManyOptions = {}): Promise<Array<PromiseSettledResult<T>>> {
    this.assertOpen();
    const opts = parseOptions(CallManyOptionsSchema, options, 'callMany options');
    if (!Array.isArray(argsList)) throw new AirlockError('INVALID_ARGUMENT', `argsList must be an array of argument lists, got ${describe(argsList)}`);
    const target = this.checkTarget(library, fn);
    if (this.sandbox !== undefined && !this.sandbox.shows(target)) await this.show(target);
    const abi = inferAbi(opts.abi, fn, argsList[0]);
    const wire: unknown[] = new Array(argsList.length);
    let signature: CallSignature | undefined;
    for (let index = 0; index < argsList.length; index += 1) {
      const args = argsList[index];
      // The hot path, once the first element gave the signature: numbers that fit, copied.
      if (signature !== undefined && Array.isArray(args) && plainNumberArguments(signature, args)) {
        wire[index] = args.slice();
        continue;
      }
      try {
        ({ signature, wire: wire[index] } = this.checkArguments(abi, fn, args));
      } catch (error) {
        const problem = error as AirlockError;
        throw new AirlockError('INVALID_ARGUMENT', `argsList[${index}]: ${problem.message}`, { ...problem, details: { ...problem.details, index } });
      }
    }
    const limits = mergeLimits(this.limits, opts);
    const ship = opts.ship ?? (this.options.ship || undefined);
    const sha256 = ship === true ? this.shipper.digest(target, opts.sha256) : opts.sha256;
    const call = {
      library: target,
      fn,
      abi,
      limits: workerSide(limits),
      ...(sha256 !== undefined && { sha256 }),
      vaccelLayout: opts.vaccelArgLayout ?? this.options.vaccelArgLayout,
    };
    const operation = `calling ${fn} in ${library}`;
    const results: Array<PromiseSettledResult<unknown>> = new Array(argsList.length);
    // Elements that never started (their worker died or retired before them) go round again.
    let todo = Array.from({ length: argsList.length }, (_, index) => index);
    while (todo.length > 0) {
      const again: number[] = [];
      const chunks: Array<Promise<void>> = [];
      for (let start = 0; start < todo.length; start += opts.chunkSize) {
        const indexes = todo.slice(start, start + opts.chunkSize);
        const settle = (index: number, outcome: CallOutcome) => {
          if (!('error' in outcome)) results[index] = { status: 'fulfilled', value: outcome.value };
          else if (outcome.error instanceof NotStarted && opts.signal?.aborted !== true) again.push(index);
          else results[index] = { status: 'rejected', reason: outcome.error instanceof NotStarted ? cancelledCall(opts.signal) : outcome.error };
        };
        const chunk = this.pool.run(
          async (worker) => {
            const shipped = shipsTo(worker, ship, sha256);
            if (shipped) await this.shipper.stage(worker, target, sha256!, { limits, signal: opts.signal });
            return new Promise<void>((done) => {
              let left = indexes.length;
              worker.runCalls(
                {
                  call: shipped ? { ...call, shipped } : call,
                  args: indexes.map((index) => wire[index]),
                  isolation: opts.isolation,
                  settle: (position, outcome) => {
                    settle(indexes[position]!, outcome);
                    if (--left === 0) done();
                  },
                  accept: (value, position) => acceptResult({ value }, signature, argsList[indexes[position]!], abi, worker.pid),
                },
                { limits, operation, signal: opts.signal },
              );
            });
          },
          opts.signal,
          target,
        );
        // The pool refuses a chunk as a whole (closed host, no worker can start, cancelled while waiting).
        chunks.push(
          chunk.catch((error: unknown) =>
            indexes.forEach((index) => {
              this.reportUnrun(library, fn, error);
              settle(index, { error: error as AirlockError });
            }),
          ),
        );
      }
      await Promise.all(chunks);
      todo = again;
    }
    return results as Array<PromiseSettledResult<T>>;
  }

  /**
   * Binds a function of a library once: the result is called like the function itself, and
   * `.many(argsList)` runs a batch. Given a C prototype as a string literal, its TypeScript type
   * is read from the prototype (`bind('libm.so.6', 'double cos(double)')` is
   * `(x: number) => Promise<number>`); otherwise give it as the type argument. The prototype is
   * checked now: a bad one throws INVALID_ARGUMENT here, not at the first call. `options` are
   * those of every call (and of `.many`, with its own added).
   */
  bind<P extends string>(library: string, fn: P, options?: CallOptions): BoundFunction<PrototypeFunction<P>>;
  bind<F extends AnyAsyncFunction>(library: string, fn: string, options?: CallOptions): BoundFunction<F>;
  bind(library: string, fn: string, options: CallOptions = {}): BoundFunction<AnyAsyncFunction> {
    this.assertOpen();
    parseOptions(CallOptionsSchema, options, 'bind options');
    this.checkTarget(library, fn);
    if (isPrototype(fn)) this.checkPrototype(fn);
    return bindFunction(this, library, fn, options);
  }

  /** Loads a library in a worker and reports its ABI (and an Arroyo plugin's metadata). */
  async inspect(library: string, options: { sha256?: string; ship?: boolean; signal?: AbortSignal } = {}): Promise<LibraryInfo> {
    this.assertOpen();
    const target = this.checkTarget(library, 'inspect');
    if (this.sandbox !== undefined && !this.sandbox.shows(target)) await this.show(target);
    const ship = options.ship ?? (this.options.ship || undefined);
    const sha256 = ship === true ? this.shipper.digest(target, options.sha256) : options.sha256;
    const params = { library: target, ...(sha256 !== undefined && { sha256 }) };
    return (await this.pool.run(
      async (worker) => {
        const info = { limits: this.limits, operation: `inspecting ${library}`, signal: options.signal };
        if (!shipsTo(worker, ship, sha256)) return worker.request('inspect', params, info);
        await this.shipper.stage(worker, target, sha256!, info);
        return worker.request('inspect', { ...params, shipped: true }, info);
      },
      options.signal,
      target,
    )) as LibraryInfo;
  }

  /**
   * Opens a vAccel-style session: one worker pinned to it, a rundir for its resources.
   * Close it (or `await using`) to end the worker and remove the rundir.
   */
  async session(input: SessionOptions = {}): Promise<Session> {
    this.assertOpen();
    const options = parseOptions(SessionOptionsSchema, input, 'session options');
    const limits = mergeLimits(this.limits, options.limits ?? {});
    const sandbox = this.sessionSandbox(options.sandbox);
    const cwd = this.options.cwd ?? process.cwd();
    const context = { cwd, closeGraceMs: this.options.closeGraceMs, ship: this.options.ship, shipper: this.shipper };
    const layout = options.vaccelArgLayout ?? this.options.vaccelArgLayout;
    const groups = this.options.workers;
    const group = options.group ?? Math.max(0, groups.findIndex((entry) => entry.launcher === undefined));
    if (group >= groups.length) {
      throw new AirlockError('INVALID_ARGUMENT', `Invalid session options: group: the host has ${groups.length} group(s) of workers, numbered from 0 (got ${group})`);
    }
    if (groups[group]!.launcher !== undefined) {
      if (sandbox !== undefined) throw new AirlockError('INVALID_ARGUMENT', `Invalid session options: sandbox: group ${group} runs its workers on another machine, which this host cannot sandbox`);
      const worker = await this.pool.dedicated(workerLaunch(this.options, undefined, undefined, groups[group]), group);
      const rundir = worker.hello.rundir;
      if (rundir === undefined) {
        await worker.close(0);
        throw new AirlockError('UNAVAILABLE', `The worker of group ${group} made no session directory (its airlock-worker --remote is older than this host's)`);
      }
      const session = new Session(worker, limits, layout, { id: nextSessionId(), rundir, libraryDir: join(rundir, 'lib') }, context);
      this.sessions.add(session);
      return session;
    }
    const place = sessionPlace(options.rundirParent === undefined ? DEFAULT_RUNDIR_PARENT : resolve(cwd, options.rundirParent));
    let worker: WorkerProcess;
    try {
      worker = await this.pool.dedicated(workerLaunch(this.options, sandbox?.spawn({ writable: [place.rundir] }), place.libraryDir, groups[group]), group);
    } catch (error) {
      removeTrackedDir(place.rundir);
      throw error;
    }
    const session = new Session(worker, limits, layout, place, context, sandbox);
    this.sessions.add(session);
    return session;
  }

  /** What a session's worker sees: its own sandbox option's policy, or the host's (undefined: no sandbox). */
  private sessionSandbox(option: SessionOptions['sandbox']): SandboxView | undefined {
    if (option === undefined) return this.sandbox?.derive(this.sandbox.policy);
    const policy = sandboxPolicy(parseOptions(SandboxOptionsSchema, option, 'session sandbox option'), this.options.cwd ?? process.cwd());
    if (policy === undefined) return undefined;
    return this.sandbox?.derive(policy) ?? new SandboxView(policy);
  }

  /**
   * Runs a command through a driver (`exec`, `bash`, `sh`) in a worker, from an empty
   * environment, under the same limits as calls. Resolves to `{ exitCode: 0, stdout, stderr,
   * outputs }`; a non-zero exit rejects with PLUGIN_ERROR carrying `exitCode` and the last lines.
   */
  async exec(spec: ExecSpec): Promise<ExecResult> {
    this.assertOpen();
    const sandbox = this.sandbox;
    return execCommand(spec, this.limits, { cwd: this.options.cwd ?? process.cwd(), env: process.env }, (params, info) => {
      if (sandbox === undefined) return this.pool.run((worker) => worker.request('exec', params, info), info.signal);
      // A sandboxed command gets a worker of its own, shown what its spec declares.
      return this.execSandboxed(sandbox, params as ExecParams, info);
    });
  }

  /** Runs a command in a sandboxed worker of its own, shown what its spec declares; the worker ends with it. */
  private async execSandboxed(sandbox: SandboxView, params: ExecParams, info: Parameters<WorkerProcess['request']>[2]): Promise<unknown> {
    if (info.signal?.aborted) throw cancelledCall(info.signal);
    const worker = await this.pool.dedicated(workerLaunch(this.options, sandbox.spawn(execPaths(params))));
    try {
      return await worker.request('exec', params, info);
    } finally {
      void worker.close(0);
    }
  }

  /** Pids of the live workers (for supervision and tests). */
  get workerPids(): number[] {
    return this.pool.pids;
  }

  /**
   * Ends every worker (closing its channel, then SIGTERM and SIGKILL after the grace period)
   * and resolves when none is left. Calls still waiting are rejected with UNAVAILABLE.
   */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.pool.close(this.options.closeGraceMs), ...[...this.sessions].map((s) => s.close())]).then(() => undefined);
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Shows a library to the sandbox's workers: those started from now on see it; those started
   * before cannot, and are replaced once their calls have settled.
   */
  private async show(library: string): Promise<void> {
    if (await this.sandbox!.expose(library)) this.pool.renew(`its sandbox does not show ${library}`);
  }

  private assertOpen(): void {
    if (this.closing) throw new AirlockError('UNAVAILABLE', 'The host is closed');
  }

  /** Checks library and fn; returns the library as the worker should load it. */
  private checkTarget(library: unknown, fn: unknown): string {
    if (typeof library !== 'string' || library.length === 0) {
      throw new AirlockError('INVALID_ARGUMENT', `library must be a path or a library name (a non-empty string), got ${describe(library)}`);
    }
    if (typeof fn !== 'string' || fn.trim().length === 0) {
      throw new AirlockError('INVALID_ARGUMENT', `fn must be a symbol name or a C prototype (a non-empty string), got ${describe(fn)}`);
    }
    // A path is resolved here, against the host's cwd; a bare name goes to the loader's search.
    let target = this.targets.get(library);
    if (target === undefined) {
      target = library.includes('/') ? resolve(this.options.cwd ?? process.cwd(), library) : library;
      if (this.targets.size < 1024) this.targets.set(library, target);
    }
    return target;
  }

  /**
   * Checks one call's arguments for its ABI before any worker is involved (a C call's against
   * its prototype, parsed once) and wire-encodes them; INVALID_ARGUMENT names what does not fit.
   */
  private checkArguments(abi: Abi, fn: string, args: unknown): { signature: CallSignature | undefined; wire: unknown } {
    let signature: CallSignature | undefined;
    if (abi === 'c' || (abi === 'auto' && isPrototype(fn))) signature = this.checkCArguments(fn, args);
    else if (abi === 'vaccel' && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      throw new AirlockError('INVALID_ARGUMENT', `vAccel arguments must be an object { read: [...], write: [...] }, got ${describe(args)}`);
    } else if (abi !== 'vaccel' && !Array.isArray(args)) {
      throw new AirlockError('INVALID_ARGUMENT', `Arguments must be an array, got ${describe(args)}`);
    }
    try {
      return { signature, wire: encodeValue(args) };
    } catch (error) {
      throw new AirlockError('INVALID_ARGUMENT', (error as Error).message);
    }
  }

  /** Parses a prototype (once); a bad one is INVALID_ARGUMENT naming it. */
  private checkPrototype(fn: string): CallSignature {
    let signature = this.signatures.get(fn);
    if (signature !== undefined) return signature;
    try {
      signature = buildSignature(fn);
    } catch (error) {
      if (error instanceof PrototypeError) throw new AirlockError('INVALID_ARGUMENT', error.message, { details: { prototype: fn } });
      throw error;
    }
    this.signatures.set(fn, signature);
    return signature;
  }

  /** Parses (once) and checks a C call's arguments before any worker is involved; returns the signature. */
  private checkCArguments(fn: string, args: unknown): CallSignature {
    const signature = this.checkPrototype(fn);
    try {
      if (!Array.isArray(args)) throw new ArgumentError(`Arguments must be an array, got ${describe(args)}`, 0);
      checkArguments(signature, args);
      return signature;
    } catch (error) {
      if (error instanceof ArgumentError) throw new AirlockError('INVALID_ARGUMENT', error.message, { argument: error.position });
      throw error;
    }
  }
}

/**
 * A call's result as the caller gets it: decoded, and checked against what the call declared
 * (the prototype; an Arroyo plugin's value kinds; vAccel's status and write list). A reply is
 * tainted until then: plugin code shares its worker's address space and channel.
 */
function acceptResult(result: unknown, signature: CallSignature | undefined, args: unknown, abi: string, workerPid: number): unknown {
  const value = decodeValue((result as { value: unknown }).value);
  if (signature !== undefined) {
    checkCResult(signature, args as unknown[], value, workerPid);
  } else if (abi === 'vaccel') {
    const writes = (args as { write?: unknown[] }).write?.length ?? 0;
    const reply = value as { status?: unknown; write?: unknown };
    if (typeof reply !== 'object' || reply === null || !Number.isInteger(reply.status) || !Array.isArray(reply.write) || reply.write.length !== writes) {
      throw new ResultError(`a vAccel call with ${writes} write argument(s) answers { status, write: [${writes} value(s)] }, got ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 200)}`);
    }
  } else if (value !== null && !['boolean', 'number', 'bigint', 'string'].includes(typeof value)) {
    throw new ResultError(`an Arroyo plugin returns a Bool, Int, UInt, Double or String (or null for a NULL string), the reply carries ${typeof value}`);
  }
  return value;
}

/** The limits the worker applies itself (the rest the host enforces). */
function workerSide(limits: Limits): Pick<Limits, 'memoryBytes' | 'cpuMs' | 'maxOpenFiles'> {
  const { maxOutputBytes: _o, timeoutMs: _t, maxProcesses: _p, ...rest } = limits;
  return rest;
}

function cancelledCall(signal: AbortSignal | undefined): AirlockError {
  return new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: signal?.reason });
}

function isEmpty(options: object | undefined): boolean {
  if (options === undefined) return true;
  for (const _ in options) return false;
  return true;
}

/** A directory option that names no directory is INVALID_ARGUMENT saying so (not a spawn error at the first call). */
function checkDirectory(path: string, option: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new AirlockError('INVALID_ARGUMENT', `Invalid host options: ${option} ${JSON.stringify(path)} does not exist (${(error as NodeJS.ErrnoException).code})`, { details: { [option]: path } });
  }
  if (!stat.isDirectory()) throw new AirlockError('INVALID_ARGUMENT', `Invalid host options: ${option} ${JSON.stringify(path)} is not a directory`, { details: { [option]: path } });
}

/** `abi: 'auto'` for a symbol called with `{ read, write }`: only vAccel takes arguments of that shape. */
function inferAbi(abi: Abi, fn: string, args: unknown): Abi {
  return abi === 'auto' && !isPrototype(fn) && isVaccelArgumentsShape(args) ? 'vaccel' : abi;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return withArticle((value.constructor?.name as string | undefined) ?? 'object');
  return `${String(value)} (${typeof value})`;
}

/** Creates a host at once; workers start on the first call (or at once with `eager: true`). */
export function createHost(options: HostOptions = {}): Host {
  return new Host(options);
}

/**
 * Whether a call's library is shipped to `worker`: only to a launched one, when the call (or its
 * host) asks for it, or when it pins a sha256 and does not say `ship: false`.
 */
function shipsTo(worker: WorkerProcess, ship: boolean | undefined, sha256: string | undefined): boolean {
  return worker.transport !== undefined && sha256 !== undefined && ship !== false;
}
