// The processes of a command, read from /proc: to watch their CPU and memory, and to kill every
// one of them when the command stops (its own session may not hold them all: anything can call
// setsid(), but nothing leaves the worker's subtree while the worker is a child subreaper).
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports utime/stime in clock ticks of 1/100 s on every platform airlock supports. */
const TICKS_PER_SECOND = 100;

/** The thread ids of a process (empty when it is gone). */
function tasksOf(pid: number | 'self'): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** Direct children of a process (every thread's children). */
export function childrenOf(pid: number | 'self'): number[] {
  const found: number[] = [];
  for (const tid of tasksOf(pid)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const item of text.split(' ')) {
      const child = Number(item);
      if (child > 0) found.push(child);
    }
  }
  return found;
}

/** Every descendant of a process, breadth first. */
export function descendantsOf(pid: number | 'self', limit = 100_000): number[] {
  const found: number[] = [];
  const seen = new Set<number>();
  const queue: Array<number | 'self'> = [pid];
  while (queue.length > 0 && found.length < limit) {
    for (const child of childrenOf(queue.shift()!)) {
      if (seen.has(child)) continue;
      seen.add(child);
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** What /proc/<pid>/stat says about a process; undefined when it is gone. */
export interface ProcStat {
  state: string;
  pgrp: number;
  session: number;
  /** CPU of the process and of its children it has waited for, in ms. */
  cpuMs: number;
}

export function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { state: fields[0]!, pgrp: Number(fields[2]), session: Number(fields[3]), cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** VmData of a process in bytes (what RLIMIT_DATA counts); 0 when it is gone. */
export function readDataBytes(pid: number): number {
  try {
    const match = /^VmData:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, name: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills a command: its process group (= its session leader's pid) and every descendant of the
 * worker that was not there before the command started, until none is left. Synchronous, so
 * it also runs from an 'exit' handler. Returns the pids it signalled.
 */
export function killCommand(leader: number, before: ReadonlySet<number>): number[] {
  const killed = new Set<number>();
  for (let round = 0; round < 50; round += 1) {
    signal(-leader);
    signal(leader);
    const alive = descendantsOf('self').filter((pid) => !before.has(pid) && readStat(pid)?.state !== 'Z');
    for (const pid of alive) {
      signal(pid);
      killed.add(pid);
    }
    if (alive.length === 0) break;
  }
  return [...killed];
}

/** The soft RLIMIT_STACK of this process from /proc/self/limits (undefined: unlimited or unknown). */
export function readStackLimit(): number | undefined {
  try {
    const match = /^Max stack size\s+(\d+|unlimited)\s/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return match && match[1] !== 'unlimited' ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Kills every descendant of this process, until none is left (new ones are reparented here as their parents die). */
export function killDescendants(): void {
  for (let round = 0; round < 20; round += 1) {
    const descendants = descendantsOf('self');
    if (descendants.length === 0) return;
    for (const pid of descendants) signal(pid, 'SIGKILL');
  }
}
