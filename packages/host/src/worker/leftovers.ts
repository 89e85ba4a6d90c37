import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TEMP_DIR_FILES } from '@airlock/protocol';
import { readGroupMembers, readProcessesWithEnvironment, signal } from './proc-reader.js';

// What a dead worker leaves behind, and what the host does about it: it trusts nothing the
// worker wrote without checking it against /proc.

/**
 * Kills what is left of the process groups of commands the worker was running. They live in
 * sessions of their own, so neither the worker's group nor its subtree (they were reparented
 * when it died) reaches them; the worker listed them in its temp dir for exactly this. What the
 * worker wrote is not trusted (plugin code could have written it): only processes of a listed
 * group that the kernel says started after the worker did (a clock tick later) are killed, never a group of this
 * process, of its own workers, or one that began before the worker.
 */
export function killCommandGroups(tempDir: string, workerStartTime: number, ours: ReadonlySet<number>): void {
  let groups: string[];
  try {
    groups = readdirSync(join(tempDir, TEMP_DIR_FILES.commandGroups));
  } catch {
    return;
  }
  for (const name of groups.slice(0, 256)) {
    const pgid = Number(name);
    if (!Number.isInteger(pgid) || pgid <= 1 || ours.has(pgid)) continue;
    for (const member of readGroupMembers(pgid)) {
      // Strictly later: start times count in ticks of 10 ms, and a worker boots for longer than that
      // before it can start a command.
      if (member.startTime > workerStartTime && !ours.has(member.pid)) signal(member.pid, 'SIGKILL');
    }
  }
}

/**
 * Kills what the plugin of a worker that died by itself forked: those processes were reparented
 * out of its tree when it died, but still carry its environment, its own temp dir in it.
 */
export function killOrphans(tempDir: string, workerStartTime: number): void {
  for (const orphan of readProcessesWithEnvironment(`TMPDIR=${tempDir}\0`, workerStartTime)) signal(orphan, 'SIGKILL');
}

/** Name of the file in the worker's TMPDIR where its memory watcher records pressure (see @airlock/worker limits/memory-watch). */
const MEMORY_EVIDENCE_FILE = TEMP_DIR_FILES.memoryEvidence;

/** Whether the worker's memory watcher recorded that the running call reached its memory limit. */
export function memoryEvidence(tempDir: string): boolean {
  try {
    return readFileSync(join(tempDir, MEMORY_EVIDENCE_FILE), 'latin1').startsWith('memory ');
  } catch {
    return false;
  }
}

