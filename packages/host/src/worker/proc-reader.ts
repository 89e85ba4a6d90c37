import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';

/** Linux reports utime/stime in clock ticks of 1/100 s on every platform airlock supports. */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

/**
 * CPU time (user + system) a process has used, in ms, with that of its children it has reaped
 * (cutime + cstime); undefined when it is gone.
 */
export function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes (statm), undefined when it is gone. */
export function readResidentBytes(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * PAGE_SIZE;
  } catch {
    return undefined;
  }
}

/** The most memory a process has had resident (VmHWM of /proc/<pid>/status), in bytes; undefined when it is gone. */
export function readPeakResidentBytes(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Memory a process holds for itself alone, in bytes (Private_Clean + Private_Dirty): what a forked
 * child added, not the pages it still shares copy-on-write with the worker. Undefined when it is gone.
 */
export function readPrivateBytes(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const clean = /^Private_Clean:\s+(\d+) kB/m.exec(text)?.[1];
    const dirty = /^Private_Dirty:\s+(\d+) kB/m.exec(text)?.[1];
    return clean === undefined || dirty === undefined ? undefined : (Number(clean) + Number(dirty)) * 1024;
  } catch {
    return undefined;
  }
}

/** VmData of a process in bytes; undefined when it is gone. */
export function readDataBytes(pid: number): number | undefined {
  try {
    const match = /^VmData:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The soft RLIMIT_DATA of a process in bytes; undefined when unlimited or gone. */
export function readDataLimit(pid: number): number | undefined {
  try {
    const match = /^Max data size\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
    return match && match[1] !== 'unlimited' ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The name (comm) of one thread of a process; undefined when it is gone. */
export function readTaskName(pid: number, tid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** The thread ids of a process (empty when it is gone). */
export function readTasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/**
 * Every descendant of a process, found through /proc/<pid>/task/<tid>/children (each thread's
 * children), breadth first. Cheap: it reads only the subtree, not all of /proc.
 */
export function readDescendants(pid: number, limit = 100_000): number[] {
  const found: number[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length > 0 && found.length < limit) {
    const parent = queue.shift()!;
    for (const tid of readTasks(parent)) {
      let text: string;
      try {
        text = readFileSync(`/proc/${parent}/task/${tid}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const item of text.split(' ')) {
        const child = Number(item);
        if (child > 0 && !seen.has(child)) {
          seen.add(child);
          found.push(child);
          queue.push(child);
        }
      }
    }
  }
  return found;
}

/** The children of a single-threaded process (bubblewrap's). */
function readChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').split(' ').map(Number).filter((child) => child > 0);
  } catch {
    return [];
  }
}

/**
 * The worker inside a sandbox, by its pid in this PID namespace: bubblewrap (`pid`) runs the
 * namespace's init, whose one child is the worker.
 */
export function findSandboxedWorker(pid: number): number | undefined {
  const init = readChildren(pid)[0];
  return init === undefined ? undefined : readChildren(init)[0];
}

/** Whether a process has ended (gone, or a zombie waiting to be reaped). */
export function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/**
 * Kills a worker, its process group and every descendant of it. The worker and its group are
 * stopped first so that they start nothing more, and the worker stays alive (stopped) while its
 * descendants are killed: as a child subreaper it inherits whatever they orphan, so each round
 * finds the rest, and nothing is reparented out of reach before it is dead. The worker dies last.
 */
export function killTree(pid: number, pgid = pid): void {
  // Freeze the worker's whole group first (a fork bomb in it stops multiplying), the worker with it.
  signal(-pgid, 'SIGSTOP');
  signal(pid, 'SIGSTOP');
  for (let round = 0; round < 50; round += 1) {
    const descendants = readDescendants(pid);
    if (descendants.length === 0) break;
    for (const child of descendants) signal(child, 'SIGKILL');
  }
  signal(-pgid, 'SIGKILL');
  signal(pid, 'SIGKILL');
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Clock ticks since boot now (the unit of a process's start time in /proc), rounded down. Read
 * before a spawn, it bounds the child's start time from below without reading the child's /proc
 * entry, which can wait for the child's exec to finish.
 */
export function readTicksSinceBoot(): number {
  try {
    return Math.floor(Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * TICKS_PER_SECOND);
  } catch {
    return 0;
  }
}

/** One read of a /proc stat file (they are well under 1 KiB). */
const statBuffer = Buffer.alloc(4096);

/**
 * When a process started, in clock ticks since boot (stat field 22); undefined when it is gone.
 * Read into one buffer and parsed in place: a scan of /proc calls this for every process.
 */
export function readStartTime(pid: number): number | undefined {
  let length: number;
  try {
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      length = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const nameEnd = statBuffer.lastIndexOf(0x29, length - 1);
  if (nameEnd < 0) return undefined;
  // After ") " come fields 3, 4, …: the start time is the 20th of them.
  let position = nameEnd + 2;
  for (let field = 0; field < 19; field += 1) {
    position = statBuffer.indexOf(0x20, position) + 1;
    if (position === 0 || position >= length) return undefined;
  }
  let value = 0;
  for (; position < length && statBuffer[position]! >= 0x30 && statBuffer[position]! <= 0x39; position += 1) value = value * 10 + statBuffer[position]! - 0x30;
  return value;
}

/** Every live process of process group `pgid`, with its start time (a scan of /proc: not for hot paths). */
export function readGroupMembers(pgid: number): Array<{ pid: number; startTime: number }> {
  const members: Array<{ pid: number; startTime: number }> = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push({ pid: Number(name), startTime: Number(fields[19]) });
    } catch {
      /* gone */
    }
  }
  return members;
}

/**
 * Live processes whose environment holds `marker` (e.g. `TMPDIR=<a worker's temp dir>\0`) and
 * that started at or after `since` (clock ticks since boot): what a dead worker's plugin forked
 * keeps its environment. A scan of /proc: for a worker's death, not for hot paths.
 */
export function readProcessesWithEnvironment(marker: string, since: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const pid = Number(name);
    const started = readStartTime(pid);
    if (started === undefined || started < since) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(marker)) found.push(pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}
