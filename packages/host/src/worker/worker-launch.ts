import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { AIRLOCK_VERSION, PROTOCOL_VERSION, type RemoteLaunch } from '@airlock/protocol';
import { ONE_CALL_ARGUMENT, WORKER_ENTRY } from '@airlock/worker';
import type { ResolvedHostOptions, ResolvedWorkerGroup } from '../options/host-options.js';
import { launchedCommandLine } from '../remote/launcher.js';
import type { OutputLine } from '../output/output-capture.js';
import type { SandboxSpawn } from '../sandbox/sandbox-view.js';
import type { WorkerLaunch } from './worker-process.js';
import type { SpawnSpec } from './worker-spawn.js';

/**
 * The script workers start with: it turns on Node's compile cache (kept in the worker package's
 * own directory), then runs WORKER_ENTRY. Compiling the worker's modules afresh in every worker
 * cost about an eighth of its cold start.
 */
const WORKER_START = join(dirname(WORKER_ENTRY), 'lifecycle', 'entry.js');

/**
 * How a host with these options starts its workers (in `sandbox`, if given) and talks to them.
 * `libraryDir` goes last on the worker's LD_LIBRARY_PATH (a session's, where it links its
 * resources' dependencies by file name).
 */
export function workerLaunch(options: ResolvedHostOptions, sandbox?: SandboxSpawn, libraryDir?: string, group?: ResolvedWorkerGroup): WorkerLaunch {
  const spec = group?.launcher !== undefined ? remoteSpawnSpec(options, { ...group, launcher: group.launcher }) : workerSpawnSpec(options);
  // The sandbox shows the user's search path read-only; the session's own directory is writable there already.
  const shown = sandbox && withLoaderPath(sandbox, spec.env.LD_LIBRARY_PATH);
  if (libraryDir !== undefined) spec.env.LD_LIBRARY_PATH = spec.env.LD_LIBRARY_PATH ? `${spec.env.LD_LIBRARY_PATH}:${libraryDir}` : libraryDir;
  return {
    ...spec,
    ...(shown !== undefined && { sandbox: shown }),
    startTimeoutMs: options.startTimeoutMs,
    watchIntervalMs: options.watchIntervalMs,
    maxRssBytes: options.maxWorkerRssBytes,
    watchMemory: options.limits.memoryBytes !== undefined,
    maxCalls: options.maxCallsPerWorker,
    lingerMicros: options.lingerMicros ?? defaultLingerMicros(),
    onLine: lineSink(options),
  };
}

/** lingerMicros' default: 200 µs, or none on a machine of one CPU (where looking would take the CPU from the host). */
function defaultLingerMicros(): number {
  return availableParallelism() > 1 ? 200 : 0;
}

/**
 * The host's variables passed to workers unless `passEnv` says otherwise: the loader's search
 * path, without which a library whose dependencies the user found through it would not load.
 */
export const DEFAULT_PASS_ENV: readonly string[] = Object.freeze(['LD_LIBRARY_PATH']);

/** What of a host's options decides the worker process it spawns. */
export type SpawnOptions = Pick<ResolvedHostOptions, 'passEnv' | 'env' | 'worker' | 'cwd' | 'maxFrameBytes'>;

/**
 * The command line and environment of a host's workers. Workers start from an empty
 * environment: only what the host was told to pass (`env`, `passEnv`) reaches plugin code.
 */
export function workerSpawnSpec(options: SpawnOptions): SpawnSpec {
  const env: Record<string, string> = {};
  for (const name of options.passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);
  const command = options.worker?.command ?? process.execPath;
  const args = options.worker ? options.worker.args : workerArgs();
  return { command, args, env, ...(options.cwd !== undefined && { cwd: options.cwd }), maxFrameBytes: options.maxFrameBytes };
}

/**
 * The worker's Node flags and script. `--single-threaded`: V8 runs its garbage collections and
 * compile jobs on the thread that needs them, never on shared platform threads, so the worker's
 * memory watcher (a thread that must keep polling while a plugin bombs memory) never waits for
 * threads starved of CPU. It costs ~15 ms of a worker's start. A worker that will never watch
 * memory (`watchesMemory` false: plugin-run knows its one call has no memory limit) runs with
 * --single-threaded-gc only; with that alone the watcher missed a malloc bomb about once in
 * eight runs of the whole suite, so it is not the default. `oneCall`: the worker will serve one
 * call (plugin-run's), and runs zod without its JIT (see ONE_CALL_ARGUMENT).
 */
export function workerArgs(watchesMemory = true, oneCall = false): string[] {
  return ['--no-warnings', watchesMemory ? '--single-threaded' : '--single-threaded-gc', WORKER_START, ...(oneCall ? [ONE_CALL_ARGUMENT] : [])];
}

/**
 * The transport command line of a launched group's worker, and its launch line: the host's
 * `env`, and `passEnv` as names of the far side's own variables (the host's mean nothing there).
 */
export function remoteSpawnSpec(options: SpawnOptions, group: ResolvedWorkerGroup & { launcher: string[] }): SpawnSpec {
  const { command, args } = launchedCommandLine(group);
  const launch: RemoteLaunch = {
    protocolVersion: PROTOCOL_VERSION,
    hostVersion: AIRLOCK_VERSION,
    env: { ...options.env },
    passEnv: [...options.passEnv],
    maxFrameBytes: options.maxFrameBytes,
    singleThreaded: true,
  };
  return { command, args, env: {}, ...(options.cwd !== undefined && { cwd: options.cwd }), maxFrameBytes: options.maxFrameBytes, remote: { transport: basename(command), where: group.launcher.join(' '), launch } };
}

/** A sandbox that also shows, read-only, the directories of the loader's search path the worker is given. */
function withLoaderPath(sandbox: SandboxSpawn, path: string | undefined): SandboxSpawn {
  const dirs = (path ?? '').split(':').filter((dir) => isAbsolute(dir) && existsSync(dir));
  if (dirs.length === 0) return sandbox;
  return { ...sandbox, mounts: [...sandbox.mounts, ...dirs.map((dir) => ({ kind: 'ro' as const, path: dir }))] };
}

const ignoreLine = () => undefined;

/** Where a worker's output lines go: the host's onLog and its logger (at info), each contained. */
function lineSink(options: ResolvedHostOptions): (line: OutputLine & { workerPid: number }) => void {
  const onLog = options.onLog ? containedOnLog(options.onLog) : undefined;
  const logger = options.logger;
  if (logger === undefined) return onLog ?? ignoreLine;
  const log = contained((line: OutputLine & { workerPid: number }) => logger.info({ workerPid: line.workerPid, stream: line.stream }, line.line), 'logger');
  return (line) => {
    onLog?.(line);
    log(line);
  };
}
const containedOnLogs = new WeakMap<object, (line: OutputLine & { workerPid: number }) => void>();

/** The host's onLog, contained once per callback (so its error is reported once, not once per worker). */
function containedOnLog(onLog: (line: OutputLine & { workerPid: number }) => unknown): (line: OutputLine & { workerPid: number }) => void {
  let wrapped = containedOnLogs.get(onLog);
  if (wrapped === undefined) {
    wrapped = contained(onLog, 'onLog');
    containedOnLogs.set(onLog, wrapped);
  }
  return wrapped;
}

/**
 * A user's callback that cannot break the host: whatever it throws is caught where airlock
 * calls it, and reported once (a process warning) rather than on every line.
 */
export function contained<A extends unknown[]>(callback: (...args: A) => unknown, name: string): (...args: A) => void {
  let reported = false;
  return (...args: A) => {
    try {
      const result = callback(...args);
      // An async callback's rejection is the same mistake.
      if (result instanceof Promise) result.catch((error: unknown) => report(error));
    } catch (error) {
      report(error);
    }
  };
  function report(error: unknown): void {
    if (reported) return;
    reported = true;
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`airlock: the ${name} callback threw (${message}); airlock goes on, and further errors of this callback are not reported`, {
      code: 'AIRLOCK_CALLBACK_ERROR',
    });
  }
}
