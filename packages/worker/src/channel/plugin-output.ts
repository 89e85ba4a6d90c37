// Plugin output and outcomes in the order they happened. A call's output travels on its own
// pipes (fd 1 and fd 2, read by the host as they fill), its outcome on the channel: two pipes
// the host reads in whatever order its event loop sees them. Output written before an outcome
// could thus reach the host after it, and be counted as the next call's (its error's `output`
// would show the previous call's lines). Before outcomes go out, the worker waits until the
// host has read what its pipes held; the host reads them as they fill, so the wait is the
// host's next turn, and none at all for a call that wrote nothing.
import { FIONREAD, fflush, ioctlInto } from '../native/libc.js';

/** The longest wait for the host to read the output pipes; past it the outcome goes anyway. */
const MAX_WAIT_MS = 250;
/** How long to sleep between looks. */
const LOOK_EVERY_MS = 0.05;

const count = Buffer.alloc(4);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Bytes in fd `fd`'s pipe the reader has not read (0 when fd is not a pipe). */
function unread(fd: number): number {
  return ioctlInto(fd, FIONREAD, count) === 0 ? count.readInt32LE(0) : 0;
}

/** Bytes the plugin wrote to its stdout and stderr that the host has not read yet. */
function unreadOutputBytes(): number {
  return unread(1) + unread(2);
}

/**
 * Flushes C stdio, then returns once the host has read everything plugin code wrote to fds 1
 * and 2, or after MAX_WAIT_MS (a plugin that left a process writing may keep them full).
 */
export function deliverPluginOutput(): void {
  fflush(null);
  if (unreadOutputBytes() === 0) return;
  const deadline = performance.now() + MAX_WAIT_MS;
  while (unreadOutputBytes() > 0 && performance.now() < deadline) Atomics.wait(sleeper, 0, 0, LOOK_EVERY_MS);
}
