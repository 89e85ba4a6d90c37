import { readdirSync, readFileSync } from 'node:fs';

/** Bytes of private writable memory (VmData), what RLIMIT_DATA counts. */
export function readDataBytes(): number {
  const status = readFileSync('/proc/self/status', 'latin1');
  const match = /^VmData:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Threads of this process. */
export function readThreadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** The highest file descriptor number in use. */
export function readHighestFd(): number {
  let highest = 2;
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd > highest) highest = fd;
  }
  return highest;
}
