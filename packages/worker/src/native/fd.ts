import { fstatSync } from 'node:fs';

/** Whether a file descriptor is open in this process (e.g. one the host passed at spawn). */
export function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
