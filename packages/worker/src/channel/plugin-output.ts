// Plugin output and outcomes in the order they happened. A call's output travels on its own
// pipes (fd 1 and fd 2, read by the host as they fill), its outcome on the channel: two pipes
// the host reads in whatever order its event loop sees them. Output written before an outcome
// could thus reach the host after it, and be counted as the next call's (its error's `output`
// would show the previous call's lines). Before outcomes go out, the worker waits until the
// host has read what its pipes held; the host reads them as they fill, so the wait is the
// host's next turn, and none at all for a call that wrote nothing.
import { FIONREAD, SIOCOUTQ, fflush, ioctlInto, schedYield } from '../native/libc.js';

/** The longest wait for the host to read the output pipes; past it the outcome goes anyway. */
const MAX_WAIT_MS = 250;
/** How long to sleep between looks. */
const LOOK_EVERY_MS = 0.05;
/** Looks (an ioctl and a sched_yield each) before the first sleep. */
const SPIN_LOOKS = 20;

const count = Buffer.alloc(4);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Bytes written to fd `fd` that its reader has not read (0 when it cannot tell). A host's
 * pipes are socket pairs (Node spawns children so): on the writing end of a socket, FIONREAD
 * counts what the worker could read, always nothing here, and SIOCOUTQ what its peer has not
 * read yet. A FIFO answers FIONREAD (and refuses SIOCOUTQ).
 */
function unread(fd: number): number {
  if (ioctlInto(fd, SIOCOUTQ, count) === 0) return count.readInt32LE(0);
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
  printed = true;
  const deadline = performance.now() + MAX_WAIT_MS;
  while (unreadOutputBytes() > 0 && performance.now() < deadline) Atomics.wait(sleeper, 0, 0, LOOK_EVERY_MS);
}

/** Whether plugin code in this worker has written output (seen unread when a call ended). */
let printed = false;

/**
 * Returns once the host has read what this worker wrote on fd `fd` (its channel), or after
 * MAX_WAIT_MS. An outcome read by the host ends its call there: output the next call writes
 * after that is the next call's, whichever of the two pipes the host's event loop looks at first.
 * Only once the plugin has been seen to write output: a library that never prints pays nothing
 * (and the first output it writes could be counted with the call before it, if that call's
 * outcome was still unread).
 */
export function awaitHostRead(fd: number): void {
  if (!printed) return;
  // The host reads within microseconds: look again a few times, giving the CPU away between
  // looks (on a busy machine the host may be waiting for this very CPU), before sleeping.
  for (let look = 0; look < SPIN_LOOKS; look += 1) {
    if (unread(fd) === 0) return;
    schedYield();
  }
  const deadline = performance.now() + MAX_WAIT_MS;
  while (unread(fd) > 0 && performance.now() < deadline) Atomics.wait(sleeper, 0, 0, LOOK_EVERY_MS);
}

/**
 * Looks at the channel's input for up to `microseconds`, yielding the CPU between looks, and
 * returns as soon as something is there to read: a worker that sleeps in its event loop costs
 * the next call a wake-up (the host's lingerMicros option).
 */
export function lingerForInput(fd: number, microseconds: number): void {
  const until = performance.now() + microseconds / 1000;
  do {
    if (ioctlInto(fd, FIONREAD, count) === 0 && count.readInt32LE(0) > 0) return;
    schedYield();
  } while (performance.now() < until);
}
