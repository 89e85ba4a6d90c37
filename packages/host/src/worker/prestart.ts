// A worker spawned before its host exists: plugin-run spawns one as its very first step, so the
// worker's start (~60 ms) overlaps the loading of the CLI itself instead of following it.
//
// This module is a bundle entry of its own (see scripts/bundle.mjs): the CLI loads it, and only
// it, before the rest. It must stay light: no zod, no protocol schemas.
import { debuglog } from 'node:util';
import { DEFAULT_MAX_FRAME_BYTES } from '@airlock/protocol';
import { removeTrackedDir, untrackGroup } from '../lifecycle/janitor.js';
import { killTree } from './proc-reader.js';
import { DEFAULT_PASS_ENV, type SpawnOptions, workerArgs, workerSpawnSpec } from './worker-launch.js';
import { type SpawnSpec, type SpawnedWorker, specKey, spawnWorker } from './worker-spawn.js';

/** What decides the workers of `createHost()` with no options, as plugin-run's commands create it. */
export const DEFAULT_SPAWN_OPTIONS: SpawnOptions = { passEnv: [...DEFAULT_PASS_ENV], env: {}, maxFrameBytes: DEFAULT_MAX_FRAME_BYTES };

let prestarted: { key: string; worker: SpawnedWorker } | undefined;
/** `NODE_DEBUG=airlock`: what became of the worker started ahead. */
const debug = debuglog('airlock');

/**
 * Spawns a worker for `spec` now, for the first host that starts a worker of exactly that spec;
 * returns its pid (undefined if one is waiting already or the spawn failed).
 */
export function prestartWorker(spec: SpawnSpec): number | undefined {
  if (prestarted !== undefined) return undefined;
  try {
    prestarted = { key: specKey(spec), worker: spawnWorker(spec) };
  } catch {
    // Nothing lost: the host spawns its worker itself, and reports why that fails.
    return undefined;
  }
  const { pid } = prestarted.worker;
  process.once('exit', () => {
    if (prestarted?.worker.pid === pid) killTree(pid);
  });
  return pid;
}

/**
 * The worker plugin-run's commands run on: a host of default options, whose worker serves one
 * call, and runs without --single-threaded when that call has no memory limit (see workerArgs).
 */
export function cliSpawnOptions(memoryLimited: boolean): SpawnOptions {
  return { ...DEFAULT_SPAWN_OPTIONS, worker: { command: process.execPath, args: workerArgs(memoryLimited, true) } };
}

/** Spawns the worker a plugin-run command's host would (see cliSpawnOptions). */
export function prestartCliWorker(memoryLimited: boolean): number | undefined {
  return prestartWorker(workerSpawnSpec(cliSpawnOptions(memoryLimited)));
}

/** The prestarted worker, if it was spawned for exactly `spec` and is still alive; it is handed out once. */
export function takePrestarted(spec: SpawnSpec): SpawnedWorker | undefined {
  if (prestarted === undefined || prestarted.key !== specKey(spec)) return undefined;
  const { worker } = prestarted;
  prestarted = undefined;
  return worker;
}

/** Ends the prestarted worker if no host took it (the command needed none, or another kind). */
export async function discardPrestarted(): Promise<void> {
  if (prestarted === undefined) return;
  const { worker } = prestarted;
  prestarted = undefined;
  debug('worker %d: prestarted, not taken: ended unused', worker.pid);
  killTree(worker.pid);
  await worker.exit;
  untrackGroup(worker.pid);
  removeTrackedDir(worker.tempDir);
}
