import { removeTrackedDir, untrackGroup } from '../lifecycle/janitor.js';
import { killCommandGroups, killOrphans } from './leftovers.js';
import { killTree } from './proc-reader.js';
import type { SpawnedWorker } from './worker-spawn.js';

/**
 * What a dead worker's plugin may have left running goes with it, at once: its process group,
 * and, when it died by itself (not killed by its host), what its plugin forked and was
 * reparented out of its tree (those processes still carry the worker's temp dir in their
 * environment). In a sandbox they died with its PID namespace.
 */
export function killRemains(spawned: SpawnedWorker, groupPid: number, diedByItself: boolean): void {
  killTree(groupPid);
  if (diedByItself && !spawned.sandboxed) killOrphans(spawned.tempDir, spawned.startTime);
}

/**
 * The rest, once its callers have heard: the process groups its commands made (never one of
 * `spared`: this process's, the live workers'), its temp dir, and its group's entry with the
 * janitor (reaped, the number may soon be somebody else's). A sandboxed worker's commands died
 * with its PID namespace, and the groups it listed are numbered in that namespace.
 */
export function releaseRemains(spawned: SpawnedWorker, groupPid: number, spared: ReadonlySet<number>): void {
  if (!spawned.sandboxed) killCommandGroups(spawned.tempDir, spawned.startTime, new Set(spared));
  removeTrackedDir(spawned.tempDir);
  untrackGroup(groupPid);
}
