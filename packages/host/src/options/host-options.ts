import { type Abi, AbiSchema, DEFAULT_MAX_FRAME_BYTES, type Isolation, IsolationSchema, type Limits, LimitsSchema, type SameType, type VaccelLayout, VaccelLayoutSchema, Sha256Schema } from '@airlock/protocol';
import { z } from 'zod';
import { AirlockError } from '../errors/airlock-error.js';
import type { OutputLine } from '../output/output-capture.js';
import { type SandboxOptions, SandboxOptionsSchema } from '../sandbox/sandbox-options.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';

/** A line of plugin or command output, with the worker that wrote it. */
export type LogEntry = OutputLine & { workerPid: number };

/** What airlock needs of a logger: pino's four levels, each taking fields and a message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The limits a host applies to every call unless the call overrides them. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  timeoutMs: 30_000,
  maxOutputBytes: 16 * 1024 * 1024,
});

const nonNegativeInt = z.number().int().nonnegative();

/**
 * Options of `createHost`. Every option is optional; each says its default.
 */
export interface HostOptions {
  /**
   * Worker processes serving calls in parallel: a number of local workers, or groups of workers
   * `[{ launcher: ['ssh', 'build-box'], count: 4 }, { count: 2 }]`, each local unless it has a
   * launcher (see {@link WorkerGroup}). Calls go to whichever worker is free; a new worker goes
   * to the group with the most room. Each group has its own start breaker: a worker that cannot
   * start is started in another group, and while a group's breaker is open the other groups
   * take its slots (a machine that is down fails no call the others can run). Sessions run on
   * local workers. Default 1.
   */
  workers?: number | WorkerGroup[] | undefined;
  /**
   * Sends each library to workers on other machines by its content (sha256), which they keep in
   * a content-addressed cache and load through the descriptor they hashed: the library need not
   * exist there, nor at the same path. Local workers load the very bytes the host hashed. A call's
   * `ship` overrides it; a call with `sha256` ships to a launched worker anyway. The library's
   * own dependencies must be found on the far side. Default false.
   */
  ship?: boolean | undefined;
  /**
   * Calls (or callMany chunks) a worker may be sent before it has answered the first. The worker
   * still runs them one at a time, in order, each with its own limits and clock; sending ahead
   * lets calls issued together travel in one message, and their results come back together.
   * A call waiting behind one that kills its worker never started and runs on another worker.
   * 1 sends a worker one call at a time. Default 32.
   */
  pipeline?: number | undefined;
  /** Start the workers at once instead of on the first call. Default false. */
  eager?: boolean | undefined;
  /**
   * Workers kept started and idle beside the pool's: the call after a crash takes one instead of
   * waiting for a worker to start, and another starts in the background. Each costs a Node
   * process's memory (about 50 MiB). A number keeps that many from the first call on (or at once
   * with `eager`). `'auto'` keeps none until a worker of the pool has ended under it (a crash, a
   * limit, a timeout, a cancel, a retirement), then 2, and ends them once no worker has ended
   * for 30 s (or `idleTimeoutMs`, if shorter): a host fed crashing inputs gets spares after its
   * first crash, one whose workers never end starts none, and one that crashed once does not keep
   * spares for good. 0 keeps none: the workers of a host are the ones its slots use.
   * Default 'auto'.
   */
  standby?: number | 'auto' | undefined;
  /**
   * Whether one worker may serve calls of several libraries. Default false: a worker serves the
   * first library it is given (with that library's dependencies) for its lifetime, and calls of
   * another library go to another worker, so one library's global symbols never meet another's
   * (two builds of libvaccel.so.0, say). `workers` counts them all: a call of a library no
   * worker serves takes the place of the longest-idle worker of another (which is closed), so
   * a one-worker host that alternates between libraries starts a worker at each switch.
   */
  shareWorkers?: boolean | undefined;
  /**
   * Calls (or callMany chunks) that may wait for a worker when every slot is busy; one more is
   * refused at once with UNAVAILABLE (details: { queued, maxQueue }) instead of waiting. Default:
   * no bound.
   */
  maxQueue?: number | undefined;
  /** A pool worker idle this long is ended (the next call starts one). Default: workers stay until the host closes. */
  idleTimeoutMs?: number | undefined;
  /** Limits of every call (DEFAULT_LIMITS fills what is not given: a 30 s timeout, 16 MiB of output). */
  limits?: Limits | undefined;
  /** Environment variables of the workers, which otherwise start with an empty environment. Default {}. */
  env?: Record<string, string> | undefined;
  /**
   * Names of the host's environment variables passed on to workers (those it has). Default
   * ['LD_LIBRARY_PATH']: the loader's search path, which a library's dependencies often need.
   */
  passEnv?: string[] | undefined;
  /** Working directory of the workers and base of relative library paths; it must exist. Default process.cwd(). */
  cwd?: string | undefined;
  /**
   * Largest frame either end of a worker's channel accepts, in bytes (its JSON and the raw
   * bytes of buffers 1 KiB and up, which travel beside it); a call whose arguments would not fit
   * is INVALID_ARGUMENT before anything is sent, a result that would not fit is LIMIT_EXCEEDED
   * (`limit: 'output'`). Default 128 MiB.
   */
  maxFrameBytes?: number | undefined;
  /** Time a worker has to start and answer its handshake. Default 10 000 ms. */
  startTimeoutMs?: number | undefined;
  /** Time a worker has to exit after close() before it is killed (SIGTERM, then as long again before SIGKILL). Default 2 000 ms. */
  closeGraceMs?: number | undefined;
  /**
   * A worker whose resident memory is past this after a call retires (the call's outcome
   * stands; the next call gets a fresh worker). Default: no ceiling.
   */
  maxWorkerRssBytes?: number | undefined;
  /** Calls a worker serves before it retires (1: a fresh worker for every call). Default: no limit. */
  maxCallsPerWorker?: number | undefined;
  /** How often a running call's CPU, processes and memory are sampled. Default 10 ms. */
  watchIntervalMs?: number | undefined;
  /**
   * How long a worker that has run every call it was sent keeps looking for the next one before
   * it sleeps, in microseconds. A sleeping worker costs the next call a wake-up (tens of
   * microseconds, more on a virtual machine: a caller awaiting each call gets its answers ~1.5×
   * sooner with it); looking costs CPU, yielded to anything else that wants it. 0 sleeps at once.
   * Default 200, or 0 on a machine of one CPU.
   */
  lingerMicros?: number | undefined;
  /** Consecutive start failures that open the breaker (calls then fail fast with UNAVAILABLE). Default 3. */
  breakerThreshold?: number | undefined;
  /** First cool-down of an open breaker; doubles on each re-opening up to breakerMaxCooldownMs. Default 1 000 ms. */
  breakerCooldownMs?: number | undefined;
  /** Longest cool-down of the breaker. Default 30 000 ms. */
  breakerMaxCooldownMs?: number | undefined;
  /**
   * Layout of `struct vaccel_arg` for vAccel calls: 'auto' reads it from the library (its
   * vAccel imports; one that imports none gets vAccel v0.7.1's), 'main' (vAccel's main branch;
   * 'v0.8' is its old name) or 'v0.7'. Default 'auto'.
   */
  vaccelArgLayout?: VaccelLayout | undefined;
  /** Receives every line of plugin output, with its stream and worker. If it throws, airlock goes on and warns once. Default: none. */
  onLog?: ((entry: LogEntry) => void) | undefined;
  /**
   * A logger with pino's methods (`debug`, `info`, `warn`, `error`, each `(fields, message)`):
   * airlock logs plugin output at info, each worker's start and retirement at debug and info,
   * its exit at info (warn when it crashed or was killed for a call), each call at debug.
   * Default: none.
   */
  logger?: Logger | undefined;
  /** The 'call' event carries the call's output (its last lines) also when it succeeded; a failure carries them in `error.output` anyway. Default false. */
  callOutput?: boolean | undefined;
  /**
   * Runs every worker in a sandbox (bubblewrap): `true`, or `{ network, readable, writable }`.
   * Plugin code then gets its own PID namespace, uid `nobody`, no network (unless `network`), a
   * read-only view of the system, of the libraries it is asked to call and of `readable`, and
   * writes only to its temp dir and `writable`. Where bubblewrap or the kernel cannot provide it,
   * starting a worker fails with UNAVAILABLE naming what is missing. See docs/SANDBOX.md.
   * Default false.
   */
  sandbox?: SandboxOptions | undefined;
  /** The worker to run: a command and its arguments. Default: Node running @airlock/worker. */
  worker?: { command: string; args?: string[] | undefined } | undefined;
}

/**
 * A group of a host's workers: `count` of them, on this machine, or through `launcher` on
 * another one. The launcher is a command prefix (`['ssh', 'build-box']`, `['docker', 'exec',
 * '-i', 'box']`, `['kubectl', 'exec', '-i', 'pod-0', '--']`) followed by `command`; the far side
 * needs Node and @airlock/worker installed (see the README).
 */
export interface WorkerGroup {
  /** Workers in this group. Default 1. */
  count?: number | undefined;
  /** The command prefix that reaches the other machine. Default: none (the workers are local). */
  launcher?: string[] | undefined;
  /**
   * What the launcher runs on the other side. For ssh, whose far side hands its command line to
   * a shell, each word that needs it is quoted. Default `['airlock-worker', '--remote']`.
   */
  command?: string[] | undefined;
  /**
   * Calls a worker of this group may be sent ahead of its answer (the host's `pipeline` for
   * this group). `1` on a launched group leaves no call behind one that times out there, whose
   * far side may have begun it unseen (see the README). Default: the host's `pipeline`.
   */
  pipeline?: number | undefined;
}

/** Most workers a host may have, all groups together. */
const MAX_WORKERS = 256;
const commandWords = z.array(z.string().min(1)).min(1, 'a command needs at least one word');

/** The schema of {@link WorkerGroup}. */
export const WorkerGroupSchema = z
  .strictObject({
    count: z.number().int().min(1).max(MAX_WORKERS).default(1),
    launcher: commandWords.optional(),
    command: commandWords.optional(),
    pipeline: z.number().int().min(1).max(256).optional(),
  })
  .refine((group) => group.command === undefined || group.launcher !== undefined, {
    message: "command needs a launcher: a local worker's command is the host option `worker`",
    path: ['command'],
  });
/** A group of workers with its defaults filled in. */
export type ResolvedWorkerGroup = z.output<typeof WorkerGroupSchema>;

/** `workers` as written: a number of local workers, or groups. */
export const WorkersInputSchema = z.union([z.number().int().min(1).max(MAX_WORKERS), z.array(WorkerGroupSchema).min(1, 'give at least one group')], {
  error: `expected a number of workers (1 to ${MAX_WORKERS}) or an array of groups { count, launcher?, command? }`,
});

/** The schema of `workers`: a number of local workers, or groups; always read back as groups. */
export const WorkersSchema = WorkersInputSchema.default(1)
  .transform((workers): ResolvedWorkerGroup[] => (typeof workers === 'number' ? [{ count: workers }] : workers))
  .refine((groups) => groups.reduce((sum, group) => sum + group.count, 0) <= MAX_WORKERS, { message: `at most ${MAX_WORKERS} workers in all` });

/** How many workers `workers` asks for, all groups together. */
export function workerCount(workers: number | readonly WorkerGroup[]): number {
  return typeof workers === 'number' ? workers : workers.reduce((sum, group) => sum + (group.count ?? 1), 0);
}

/** The schema of {@link HostOptions} (each option is documented there). */
export const HostOptionsSchema = z.strictObject({
  workers: WorkersSchema,
  ship: z.boolean().default(false),
  pipeline: z.number().int().min(1).max(256).default(32),
  eager: z.boolean().default(false),
  standby: z.union([z.literal('auto'), z.number().int().min(0).max(16)]).default('auto'),
  shareWorkers: z.boolean().default(false),
  maxQueue: z.number().int().min(0).optional(),
  idleTimeoutMs: z.number().int().min(1).optional(),
  limits: LimitsSchema.default({}),
  env: z.record(z.string(), z.string()).default({}),
  passEnv: z.array(z.string()).default([...DEFAULT_PASS_ENV]),
  cwd: z.string().optional(),
  maxFrameBytes: z.number().int().positive().default(DEFAULT_MAX_FRAME_BYTES),
  startTimeoutMs: z.number().int().positive().default(10_000),
  closeGraceMs: nonNegativeInt.default(2_000),
  maxWorkerRssBytes: z.number().int().positive().optional(),
  maxCallsPerWorker: z.number().int().min(1).optional(),
  watchIntervalMs: z.number().int().min(1).default(10),
  lingerMicros: z.number().int().min(0).max(100_000).optional(),
  breakerThreshold: z.number().int().min(1).default(3),
  breakerCooldownMs: nonNegativeInt.default(1_000),
  breakerMaxCooldownMs: nonNegativeInt.default(30_000),
  vaccelArgLayout: VaccelLayoutSchema.default('auto'),
  onLog: z.custom<(entry: LogEntry) => void>((value) => typeof value === 'function', 'onLog must be a function').optional(),
  logger: z
    .custom<Logger>((value) => typeof value === 'object' && value !== null && ['debug', 'info', 'warn', 'error'].every((level) => typeof (value as Record<string, unknown>)[level] === 'function'), 'logger must have debug, info, warn and error methods (as pino does)')
    .optional(),
  callOutput: z.boolean().default(false),
  sandbox: SandboxOptionsSchema.default(false),
  worker: z.strictObject({ command: z.string().min(1), args: z.array(z.string()).default([]) }).optional(),
});
const hostOptionsMatch: SameType<HostOptions, z.input<typeof HostOptionsSchema>> = true;
void hostOptionsMatch;
/** Options of createHost, with every default filled in. */
export type ResolvedHostOptions = z.output<typeof HostOptionsSchema>;

/** Options of `host.call` (and of `host.bind`): the call's limits over the host's, and how to call. */
export interface CallOptions extends Limits {
  /** How to call the function: 'c' (a prototype), 'arroyo', 'vaccel', or 'auto' (a prototype is C, plugin_metadata Arroyo, vAccel imports or { read, write } arguments vAccel). Default 'auto'. */
  abi?: Abi | undefined;
  /** Pins the library's content: the call fails with LOAD_ERROR unless the file's sha256 is this (hex). */
  sha256?: string | undefined;
  /** Sends the library to a worker on another machine by its content (see the host option). Default: the host's `ship`. */
  ship?: boolean | undefined;
  /** Layout of `struct vaccel_arg` (abi 'vaccel'): 'auto', 'main', 'v0.7' ('v0.8' is main's old name). Default: the host's. */
  vaccelArgLayout?: VaccelLayout | undefined;
  /** Aborting it cancels the call (CANCELLED at once), killing its worker if the call is running. */
  signal?: AbortSignal | undefined;
}

/** Options of `host.callMany`: those of `call`, for every element, and how the elements travel. */
export interface CallManyOptions extends CallOptions {
  /**
   * `'run'`: elements run back to back and the worker checks what they left behind (threads,
   * timers, limits, descriptors …) once per chunk of about a millisecond: a change one element
   * makes may be seen by the elements after it in that chunk (and the worker retires after it).
   * `'call'`: every element is checked as a `call` is. Default 'run'.
   */
  isolation?: Isolation | undefined;
  /** Elements sent to a worker in one message. Default 2048. */
  chunkSize?: number | undefined;
}

/** Options of a session's calls (`session.call`, `exec`, `execWithResource`): limits over the session's, and for `call` its ABI and pin. */
export interface SessionCallOptions extends Limits {
  /** How to call the function (`session.call`). Default 'auto'. */
  abi?: Abi | undefined;
  /** Pins the library's content (`session.call`). */
  sha256?: string | undefined;
  /** Ships the library to a session on a launched worker (`session.call`; see the host option). Default: the host's `ship`. */
  ship?: boolean | undefined;
  /** Aborting it cancels the call (CANCELLED); a call that is running ends the session's worker, and with it the session. */
  signal?: AbortSignal | undefined;
}

const signalSchema = z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'signal must be an AbortSignal').optional();

/** The schema of {@link CallOptions} (each option is documented there). */
export const CallOptionsSchema = LimitsSchema.extend({
  abi: AbiSchema.default('auto'),
  sha256: Sha256Schema.optional(),
  ship: z.boolean().optional(),
  vaccelArgLayout: VaccelLayoutSchema.optional(),
  signal: signalSchema,
});

/** The schema of {@link SessionCallOptions}. */
export const SessionCallOptionsSchema = LimitsSchema.extend({
  abi: AbiSchema.default('auto'),
  sha256: Sha256Schema.optional(),
  ship: z.boolean().optional(),
  signal: signalSchema,
});

/** The schema of {@link CallManyOptions}. */
export const CallManyOptionsSchema = CallOptionsSchema.extend({
  isolation: IsolationSchema.default('run'),
  chunkSize: z.number().int().min(1).max(1_000_000).default(2048),
});

const callOptionsMatch: [SameType<CallOptions, z.input<typeof CallOptionsSchema>>, SameType<CallManyOptions, z.input<typeof CallManyOptionsSchema>>, SameType<SessionCallOptions, z.input<typeof SessionCallOptionsSchema>>] = [true, true, true];
void callOptionsMatch;

/** Parses options with a schema; a bad option is INVALID_ARGUMENT naming it and what was expected. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap(unionBranch).map((issue) => {
    const path = issue.path.join('.');
    const received = issue.path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], value);
    const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${JSON.stringify(received) ?? String(received)})`;
    return `${path ? `${path}: ` : ''}${issue.message}${got}`;
  });
  throw new AirlockError('INVALID_ARGUMENT', `Invalid ${what}: ${problems.join('; ')}`);
}

/**
 * An issue as the user can act on it: for a value that matches no branch of a union (`workers`:
 * a number or groups), the issues of the branch of its own kind (the groups' issues for an
 * array), where zod says only "Invalid input".
 */
export function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const ofItsKind = issue.errors.filter((branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
  if (ofItsKind.length !== 1) return [issue];
  return ofItsKind[0]!.flatMap((inner) => unionBranch({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

/** The limits of one call: the host's, overridden by the call's. */
export function mergeLimits(hostLimits: Limits, callOptions: Partial<Limits>): Limits {
  const merged: Limits = { ...hostLimits };
  for (const key of Object.keys(LimitsSchema.shape) as Array<keyof Limits>) {
    if (callOptions[key] !== undefined) merged[key] = callOptions[key];
  }
  return merged;
}
