import { WORKER_ENTRY } from '@airlock/worker';
import type { ResolvedHostOptions } from '../options/host-options.js';
import type { WorkerLaunch } from './worker-process.js';

/**
 * The command line and environment of a worker. Workers start from an empty environment: only
 * what the host was told to pass (`env`, `passEnv`) reaches plugin code.
 */
export function workerLaunch(options: ResolvedHostOptions): WorkerLaunch {
  const env: Record<string, string> = {};
  for (const name of options.passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);
  const command = options.worker?.command ?? process.execPath;
  // --single-threaded: V8 runs its garbage collections and compile jobs on the thread that needs
  // them, never on shared platform threads. The worker's memory watcher (a thread that must keep
  // polling while a plugin bombs memory) then never waits for threads starved of CPU.
  const args = options.worker ? options.worker.args : ['--no-warnings', '--single-threaded', WORKER_ENTRY];
  return {
    command,
    args,
    env,
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    maxFrameBytes: options.maxFrameBytes,
    startTimeoutMs: options.startTimeoutMs,
    watchIntervalMs: options.watchIntervalMs,
    onLine: options.onLog ?? (() => undefined),
  };
}
