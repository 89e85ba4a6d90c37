// The two libc calls running commands needs that Node does not offer: real pipes (Node gives a
// child UNIX sockets, on which `echo >/dev/stderr` fails with ENXIO) and waitpid() for orphans
// the worker inherits as a child subreaper (Node only reaps the children it spawned).
import '../native/koffi-setup.js';
import koffi from 'koffi';
import { childrenOf, readStat } from './process-tree.js';

const libc = koffi.load('libc.so.6');
const pipe2Native = libc.func('int pipe2(_Out_ int *fds, int flags)');
const waitpidNative = libc.func('int waitpid(int pid, int *status, int options)');

const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;

/** A pipe, both ends close-on-exec (spawn() dup2()s the child's end into place, clearing it). */
export function pipe(): { read: number; write: number } {
  const fds = new Int32Array(2);
  if (pipe2Native(fds, O_CLOEXEC) !== 0) throw new Error('pipe2() failed: too many open files?');
  return { read: fds[0]!, write: fds[1]! };
}

/**
 * Reaps the zombies among the worker's children, except `keep` (the children Node spawned and
 * reaps itself). Orphans of a command are re-parented to the worker (PR_SET_CHILD_SUBREAPER);
 * once killed they would stay zombies, counted as processes, until someone waits for them.
 */
export function reapOrphans(keep: ReadonlySet<number>): number {
  let reaped = 0;
  for (const pid of childrenOf('self')) {
    if (keep.has(pid) || readStat(pid)?.state !== 'Z') continue;
    if (waitpidNative(pid, null, WNOHANG) === pid) reaped += 1;
  }
  return reaped;
}
