import { AbiSchema, DEFAULT_MAX_FRAME_BYTES, IsolationSchema, type Limits, LimitsSchema, VaccelLayoutSchema, Sha256Schema } from '@airlock/protocol';
import { z } from 'zod';
import { AirlockError } from '../errors/airlock-error.js';
import type { OutputLine } from '../output/output-capture.js';
import { SandboxOptionsSchema } from '../sandbox/sandbox-options.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';

/** A line of plugin or command output, with the worker that wrote it. */
export type LogEntry = OutputLine & { workerPid: number };

/** The limits a host applies to every call unless the call overrides them. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  timeoutMs: 30_000,
  maxOutputBytes: 16 * 1024 * 1024,
});

const nonNegativeInt = z.number().int().nonnegative();

/** Options of `createHost`. Every option is optional; defaults are given on each. */
export const HostOptionsSchema = z.strictObject({
  /** Worker processes serving calls in parallel. Default 1. */
  workers: z.number().int().min(1).max(256).default(1),
  /**
   * Calls (or callMany chunks) a worker may be sent before it has answered the first. The worker
   * still runs them one at a time, in order, each with its own limits and clock; sending ahead
   * lets calls issued together travel in one message, and their results come back together.
   * A call waiting behind one that kills its worker never started and runs on another worker.
   * 1 sends a worker one call at a time. Default 32.
   */
  pipeline: z.number().int().min(1).max(256).default(32),
  /** Start the workers at once instead of on the first call. Default false. */
  eager: z.boolean().default(false),
  /**
   * Workers kept started and idle beside the pool's: the call after a crash takes one instead of
   * waiting for a worker to start, and another starts in the background. Each costs a Node
   * process's memory (about 50 MiB). A number keeps that many from the first call on (or at once
   * with `eager`). `'auto'` keeps none until a worker of the pool has ended under it (a crash, a
   * limit, a timeout, a cancel, a retirement), then 2: a host fed crashing inputs gets spares
   * after its first crash, and one whose workers never end starts none (`plugin-run harness`
   * runs with 'auto'). Default 0: the workers of a host are the ones its slots use.
   */
  standby: z.union([z.literal('auto'), z.number().int().min(0).max(16)]).default(0),
  /**
   * Whether one worker may serve calls of several libraries. Default false: a worker serves the
   * first library it is given (with that library's dependencies) for its lifetime, and calls of
   * another library go to another worker, so one library's global symbols never meet another's
   * (two builds of libvaccel.so.0, say). `workers` counts them all: a call of a library no
   * worker serves takes the place of the longest-idle worker of another (which is closed), so
   * a one-worker host that alternates between libraries starts a worker at each switch.
   */
  shareWorkers: z.boolean().default(false),
  /**
   * Calls (or callMany chunks) that may wait for a worker when every slot is busy; one more is
   * refused at once with UNAVAILABLE (details: { queued, maxQueue }) instead of waiting. Default:
   * no bound.
   */
  maxQueue: z.number().int().min(0).optional(),
  /** A pool worker idle this long is ended (the next call starts one). Default: workers stay until the host closes. */
  idleTimeoutMs: z.number().int().min(1).optional(),
  /** Limits of every call (DEFAULT_LIMITS fills what is not given). */
  limits: LimitsSchema.default({}),
  /** Environment variables of the workers, which otherwise start with an empty environment. Default {}. */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * Names of the host's environment variables passed on to workers (those it has). Default
   * ['LD_LIBRARY_PATH']: the loader's search path, which a library's dependencies often need.
   */
  passEnv: z.array(z.string()).default([...DEFAULT_PASS_ENV]),
  /** Working directory of the workers and base of relative library paths. Default process.cwd(). */
  cwd: z.string().optional(),
  /**
   * Largest frame either end of a worker's channel accepts, in bytes (its JSON and the raw
   * bytes of buffers 1 KiB and up, which travel beside it); a call whose arguments would not fit
   * is INVALID_ARGUMENT before anything is sent, a result that would not fit is LIMIT_EXCEEDED
   * (`limit: 'output'`). Default 128 MiB.
   */
  maxFrameBytes: z.number().int().positive().default(DEFAULT_MAX_FRAME_BYTES),
  /** Time a worker has to start and answer its handshake. Default 10 000 ms. */
  startTimeoutMs: z.number().int().positive().default(10_000),
  /** Time a worker has to exit after close() before it is killed (SIGTERM, then as long again before SIGKILL). Default 2 000 ms. */
  closeGraceMs: nonNegativeInt.default(2_000),
  /**
   * A worker whose resident memory is past this after a call retires (the call's outcome
   * stands; the next call gets a fresh worker). Default: no ceiling.
   */
  maxWorkerRssBytes: z.number().int().positive().optional(),
  /** Calls a worker serves before it retires (1: a fresh worker for every call). Default: no limit. */
  maxCallsPerWorker: z.number().int().min(1).optional(),
  /** How often a running call's CPU, processes and memory are sampled. Default 10 ms. */
  watchIntervalMs: z.number().int().min(1).default(10),
  /** Consecutive start failures that open the breaker. Default 3. */
  breakerThreshold: z.number().int().min(1).default(3),
  /** First cool-down of an open breaker; doubles on each re-opening up to breakerMaxCooldownMs. Default 1 000 ms. */
  breakerCooldownMs: nonNegativeInt.default(1_000),
  /** Longest cool-down of the breaker. Default 30 000 ms. */
  breakerMaxCooldownMs: nonNegativeInt.default(30_000),
  /**
   * Layout of `struct vaccel_arg` for vAccel calls: 'auto' reads it from the library (its
   * vAccel imports; one that imports none gets vAccel v0.7.1's), 'main' (vAccel's main branch;
   * 'v0.8' is its old name) or 'v0.7'. Default 'auto'.
   */
  vaccelArgLayout: VaccelLayoutSchema.default('auto'),
  /** Receives every line of plugin output, with its stream and worker. Default: none. */
  onLog: z.custom<(entry: LogEntry) => void>((value) => typeof value === 'function', 'onLog must be a function').optional(),
  /**
   * Runs every worker in a sandbox (bubblewrap): `true`, or `{ network, readable, writable }`.
   * Plugin code then gets its own PID namespace, uid `nobody`, no network (unless `network`), a
   * read-only view of the system, of the libraries it is asked to call and of `readable`, and
   * writes only to its temp dir and `writable`. Where bubblewrap or the kernel cannot provide it,
   * starting a worker fails with UNAVAILABLE naming what is missing. See docs/SANDBOX.md.
   * Default false.
   */
  sandbox: SandboxOptionsSchema.default(false),
  /** The worker to run: a command and its arguments. Default: Node running @airlock/worker. */
  worker: z.strictObject({ command: z.string().min(1), args: z.array(z.string()).default([]) }).optional(),
});
/** Options of createHost, as the user writes them. */
export type HostOptions = z.input<typeof HostOptionsSchema>;
/** Options of createHost, with every default filled in. */
export type ResolvedHostOptions = z.output<typeof HostOptionsSchema>;

/** Options of one call. */
export const CallOptionsSchema = LimitsSchema.extend({
  /** How to call the function. Default 'auto'. */
  abi: AbiSchema.default('auto'),
  /** Pins the library's content: the call fails with LOAD_ERROR unless its sha256 is this. */
  sha256: Sha256Schema.optional(),
  /** Layout of `struct vaccel_arg` (abi 'vaccel'). Default: the host's. */
  vaccelArgLayout: VaccelLayoutSchema.optional(),
  /** Aborting it cancels the call (CANCELLED), killing its worker if the call is running. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'signal must be an AbortSignal').optional(),
});
/** Options of `host.call`. */
export type CallOptions = z.input<typeof CallOptionsSchema>;

/** Options of a session's calls (`session.call`, `exec`, `execWithResource`): limits, and for `call` its ABI and pin. */
export const SessionCallOptionsSchema = LimitsSchema.extend({
  /** How to call the function (`session.call`). Default 'auto'. */
  abi: AbiSchema.default('auto'),
  /** Pins the library's content (`session.call`). */
  sha256: Sha256Schema.optional(),
  /** Aborting it cancels the call (CANCELLED); a call that is running ends the session's worker, and with it the session. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'signal must be an AbortSignal').optional(),
});
/** Options of a session's calls. */
export type SessionCallOptions = z.input<typeof SessionCallOptionsSchema>;

/** Options of `host.callMany`: those of `call`, for every element, and how the elements travel. */
export const CallManyOptionsSchema = CallOptionsSchema.extend({
  /**
   * `'run'`: elements run back to back and the worker checks what they left behind (threads,
   * timers, limits, descriptors …) once per chunk of about a millisecond: a change one element
   * makes may be seen by the elements after it in that chunk (and the worker retires after it).
   * `'call'`: every element is checked as a `call` is. Default 'run'.
   */
  isolation: IsolationSchema.default('run'),
  /** Elements sent to a worker in one message. Default 2048. */
  chunkSize: z.number().int().min(1).max(1_000_000).default(2048),
});
/** Options of `host.callMany`. */
export type CallManyOptions = z.input<typeof CallManyOptionsSchema>;

/** Parses options with a schema; a bad option is INVALID_ARGUMENT naming it and what was expected. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.');
    const received = issue.path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], value);
    const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${JSON.stringify(received) ?? String(received)})`;
    return `${path ? `${path}: ` : ''}${issue.message}${got}`;
  });
  throw new AirlockError('INVALID_ARGUMENT', `Invalid ${what}: ${problems.join('; ')}`);
}

/** The limits of one call: the host's, overridden by the call's. */
export function mergeLimits(hostLimits: Limits, callOptions: Partial<Limits>): Limits {
  const merged: Limits = { ...hostLimits };
  for (const key of Object.keys(LimitsSchema.shape) as Array<keyof Limits>) {
    if (callOptions[key] !== undefined) merged[key] = callOptions[key];
  }
  return merged;
}
