import { tmpdir } from 'node:os';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Limits, LimitsSchema, type RegisterResourceResult, type SameType, type VaccelLayout, VaccelLayoutSchema, decodeValue, encodeValue } from '@airlock/protocol';
import { z } from 'zod';
import PQueue from 'p-queue';
import { AirlockError } from '../errors/airlock-error.js';
import { createTrackedDir, removeTrackedDir } from '../lifecycle/janitor.js';
import { type SessionCallOptions, SessionCallOptionsSchema, mergeLimits, parseOptions } from '../options/host-options.js';
import type { WorkerProcess } from '../worker/worker-process.js';
import type { LibraryShipper } from '../remote/ship.js';
import { type SandboxOptions, SandboxOptionsSchema } from '../sandbox/sandbox-options.js';
import type { SandboxView } from '../sandbox/sandbox-view.js';

/** A file of a resource given as bytes. */
export interface ResourceData {
  data: Uint8Array;
  filename: string;
}

/** A resource registered in a session: its id, the directory its files live in, and the files. */
export interface Resource {
  readonly id: number;
  readonly dir: string;
  readonly files: readonly string[];
}

/** Options of `host.session()`, checked as the host's are (an unknown key or a bad value is INVALID_ARGUMENT naming it). */
export interface SessionOptions {
  /**
   * The sandbox of the session's worker (as the host's `sandbox` option). Default: the host's.
   * The session's rundir is writable in it; libraries the host has called are shown, and so are
   * the policy's paths: a library the session calls must be one of them.
   */
  sandbox?: SandboxOptions | undefined;
  /** Directory under which the session's rundir is made (relative: to the host's cwd). Default: the OS temp dir. */
  rundirParent?: string | undefined;
  /** Limits of the session's calls (over the host's). */
  limits?: Limits | undefined;
  /** Layout of `struct vaccel_arg`. Default: the host's. */
  vaccelArgLayout?: VaccelLayout | undefined;
  /**
   * The group of the host's `workers` the session's worker belongs to (its index): a group with
   * a launcher opens the session on that machine, where its rundir is the worker's own and
   * resources given by path are sent as bytes. Default: the first local group, else the first.
   */
  group?: number | undefined;
}

/** The schema of {@link SessionOptions}. */
export const SessionOptionsSchema = z.strictObject({
  sandbox: SandboxOptionsSchema.optional(),
  rundirParent: z.string().min(1).optional(),
  limits: LimitsSchema.optional(),
  vaccelArgLayout: VaccelLayoutSchema.optional(),
  group: z.number().int().nonnegative().optional(),
});
const sessionOptionsMatch: SameType<SessionOptions, z.input<typeof SessionOptionsSchema>> = true;
void sessionOptionsMatch;

/** What a session takes from its host. */
export interface SessionContext {
  /** The host's cwd: the base of relative library and resource paths. */
  cwd: string;
  /** The host's closeGraceMs: how long the worker has to exit on close. */
  closeGraceMs: number;
  /** The host's `ship`. */
  ship: boolean;
  /** The host's shipper: a session's calls on a launched worker ship their library as the host's do. */
  shipper: LibraryShipper;
}

let sessions = 0;

/** A session's id and rundir, made before its worker starts (a sandboxed worker must be shown its rundir). */
export interface SessionPlace {
  id: string;
  rundir: string;
  /** `<rundir>/lib`, on the worker's LD_LIBRARY_PATH: its resources' dependencies are linked there by file name. */
  libraryDir: string;
}

/** A new session's id, unique in this process. */
export function nextSessionId(): string {
  return `${process.pid}-${++sessions}`;
}

/** Makes the id, the rundir and its library directory of a new session under `rundirParent`. */
export function sessionPlace(rundirParent: string): SessionPlace {
  const id = nextSessionId();
  const rundir = createTrackedDir(rundirParent, `airlock-session-${id}-`);
  const libraryDir = join(rundir, 'lib');
  mkdirSync(libraryDir);
  return { id, rundir, libraryDir };
}

/**
 * A vAccel-style session: one worker pinned for its lifetime, a rundir holding the files of its
 * resources, and calls that run one at a time on that worker. If the worker dies, the session
 * says so on every later call (its resources died with it) until it is closed.
 */
export class Session implements AsyncDisposable {
  readonly id: string;
  readonly rundir: string;
  private readonly queue = new PQueue({ concurrency: 1 });
  private death: AirlockError | undefined;
  private closed = false;

  constructor(
    private readonly worker: WorkerProcess,
    private readonly limits: Limits,
    private readonly vaccelLayout: VaccelLayout,
    place: SessionPlace,
    private readonly context: SessionContext,
    /** What the session's sandboxed worker sees (undefined: no sandbox). */
    private readonly sandbox?: SandboxView,
  ) {
    this.id = place.id;
    this.rundir = place.rundir;
    worker.onExitOnce((exit) => {
      this.death ??= new AirlockError(
        'UNAVAILABLE',
        `Session ${this.id} lost its worker (${exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.exitCode}`}); its resources are gone: close the session and open a new one`,
        { workerPid: worker.pid, ...(exit.signal ? { signal: exit.signal } : { exitCode: exit.exitCode ?? undefined }) },
      );
    });
  }

  /** The pid of the session's worker. */
  get workerPid(): number {
    return this.worker.pid;
  }

  /**
   * Registers a resource and loads it in the session's worker: a path, several paths
   * (dependencies first, loaded globally; the last is the library) or bytes with a file name.
   * Local paths are loaded where they are (a library's `RUNPATH $ORIGIN/...` works); bytes are
   * persisted under `<rundir>/resource.<id>/`. A dependency is also found by its file name (a
   * library linked against one without SONAME loads).
   */
  async registerResource(files: string | string[] | ResourceData, options: { sha256?: string } = {}): Promise<Resource> {
    const list = Array.isArray(files) ? files : [files];
    if (list.length === 0) throw new AirlockError('INVALID_ARGUMENT', 'registerResource needs at least one file');
    const wire = list.map((file) => {
      if (typeof file === 'string') {
        const path = resolve(this.context.cwd, file);
        // A sandboxed worker cannot open a path it is not shown, nor a worker on another machine
        // a path of this one: it gets the file's bytes instead.
        if (this.worker.transport === undefined && (this.sandbox === undefined || this.sandbox.shows(path))) return { path };
        return { data: readResourceFile(path).toString('base64'), filename: basename(path) };
      }
      if (file && file.data instanceof Uint8Array && typeof file.filename === 'string') {
        return { data: Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength).toString('base64'), filename: file.filename };
      }
      throw new AirlockError('INVALID_ARGUMENT', `A resource is a path, a list of paths or { data: Uint8Array, filename }, got ${JSON.stringify(file)}`);
    });
    const params = { rundir: this.rundir, files: wire, ...(options.sha256 !== undefined && { sha256: options.sha256 }) };
    const result = (await this.run('registerResource', params, `registering ${list.length} file(s)`)) as RegisterResourceResult;
    return Object.freeze({ id: result.id, dir: result.dir, files: Object.freeze(result.files) });
  }

  /** Removes a resource's files from the rundir. */
  async unregisterResource(resource: Resource): Promise<void> {
    await this.run('unregisterResource', { id: resource.id }, `unregistering resource ${resource.id}`);
  }

  /** vAccel exec of `fn` in the library at `library` (loaded in the session's worker). */
  async exec(library: string, fn: string, args: unknown, options: Omit<SessionCallOptions, 'abi'> = {}): Promise<unknown> {
    return this.call(library, fn, args, { ...options, abi: 'vaccel' });
  }

  /** vAccel exec of `fn` in a registered resource's library. */
  async execWithResource(resource: Resource, fn: string, args: unknown, options: Omit<SessionCallOptions, 'abi' | 'sha256' | 'ship'> = {}): Promise<unknown> {
    const { signal, ...limitOptions } = parseOptions(SessionCallOptionsSchema.omit({ abi: true, sha256: true, ship: true }), options, 'session call options');
    const limits = mergeLimits(this.limits, limitOptions);
    const params = { id: resource.id, fn, args: encodeValue(args), limits: workerLimits(limits), vaccelLayout: this.vaccelLayout };
    const result = (await this.run('execResource', params, `executing ${fn} of resource ${resource.id}`, limits, signal)) as { value: unknown };
    return decodeValue(result.value);
  }

  /** Any call (C prototype, Arroyo, vAccel) pinned to the session's worker: opaque pointers stay valid. */
  async call(library: string, fn: string, args: unknown = [], options: SessionCallOptions = {}): Promise<unknown> {
    const { abi, sha256: pinned, ship, signal, ...limitOptions } = parseOptions(SessionCallOptionsSchema, options, 'session call options');
    const limits = mergeLimits(this.limits, limitOptions);
    const target = library.includes('/') ? resolve(this.context.cwd, library) : library;
    if (this.sandbox !== undefined && !this.sandbox.shows(target)) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `Session ${this.id} runs in a sandbox that does not show ${JSON.stringify(target)}: open the session with the library (or its directory) in sandbox.readable, or call it through the host before opening the session`,
      );
    }
    // On a launched worker the library is shipped as the host's calls ship it (see shipsTo).
    const shipping = this.worker.transport !== undefined && (ship ?? (this.context.ship || undefined));
    const sha256 = shipping === true ? this.context.shipper.digest(target, pinned) : pinned;
    const shipped = this.worker.transport !== undefined && sha256 !== undefined && shipping !== false;
    const params = {
      library: target,
      fn,
      abi,
      args: encodeValue(args),
      limits: workerLimits(limits),
      vaccelLayout: this.vaccelLayout,
      inSession: true,
      ...(sha256 !== undefined && { sha256 }),
      ...(shipped && { shipped }),
    };
    const stage = shipped ? () => this.context.shipper.stage(this.worker, target, sha256, { limits, signal }) : undefined;
    const result = (await this.run('call', params, `calling ${fn} in ${library}`, limits, signal, stage)) as { value: unknown };
    return decodeValue(result.value);
  }

  /** A round trip to the session's worker (vAccel's noop): resolves when the worker answers. */
  async noop(): Promise<void> {
    await this.run('ping', {}, 'noop');
  }

  /** Ends the worker and removes the rundir with every resource's files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    await this.worker.close(this.context.closeGraceMs);
    // A launched worker's rundir is on its machine, and goes with the worker's temp dir.
    if (this.worker.transport === undefined) removeTrackedDir(this.rundir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private run(
    method: 'call' | 'registerResource' | 'unregisterResource' | 'execResource' | 'ping',
    params: unknown,
    operation: string,
    limits = this.limits,
    signal?: AbortSignal,
    /** Runs first, in the session's turn (shipping the call's library). */
    before?: () => Promise<void>,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new AirlockError('UNAVAILABLE', `Session ${this.id} is closed`));
    if (signal?.aborted) return Promise.reject(new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: signal.reason }));
    return this.queue.add(async () => {
      if (this.death) throw this.death;
      if (signal?.aborted) throw new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: signal.reason });
      await before?.();
      return this.worker.request(method, params, { limits, operation, signal });
    }) as Promise<unknown>;
  }
}

function workerLimits(limits: Limits) {
  const { maxOutputBytes: _o, timeoutMs: _t, maxProcesses: _p, ...rest } = limits;
  return rest;
}

/** Where a session's rundir goes by default. */
export const DEFAULT_RUNDIR_PARENT = tmpdir();

/** A resource's file, read by the host for a sandboxed worker; a file that cannot be read is INVALID_ARGUMENT naming it. */
function readResourceFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AirlockError('INVALID_ARGUMENT', `Cannot read the resource file ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
}
