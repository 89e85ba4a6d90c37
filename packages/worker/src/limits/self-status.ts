import { fstatSync, readdirSync, readFileSync } from 'node:fs';

/** Bytes of private writable memory (VmData), what RLIMIT_DATA counts. */
export function readDataBytes(): number {
  const status = readFileSync('/proc/self/status', 'latin1');
  const match = /^VmData:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Bytes of address space mapped (VmSize), what RLIMIT_AS counts. */
export function readAddressSpaceBytes(): number {
  const match = /^VmSize:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Threads of this process. */
export function readThreadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** The highest file descriptor number in use. */
export function readHighestFd(): number {
  let highest = 2;
  for (const fd of readOpenFds()) if (fd > highest) highest = fd;
  return highest;
}

/**
 * The file descriptors open now. Listing /proc/self/fd takes a descriptor of its own, closed
 * again before this returns: every listed descriptor is checked to be still open.
 */
export function readOpenFds(): Set<number> {
  const open = new Set<number>();
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!Number.isInteger(fd)) continue;
    try {
      fstatSync(fd);
      open.add(fd);
    } catch {
      /* the listing's own descriptor */
    }
  }
  return open;
}
