import { PR, RLIMIT, close, getppid, prctl, setrlimit } from '../native/libc.js';
import { installSyscallFilter } from './syscall-filter.js';

const SIGKILL = 9;

/**
 * Ties the worker's life to its host and takes away what a plugin should never have:
 * - PR_SET_PDEATHSIG(SIGKILL): the kernel kills the worker when the host dies, even by SIGKILL.
 *   The signal only arms for a parent alive now, so the parent is checked afterwards.
 * - PR_SET_NO_NEW_PRIVS: nothing the worker execs can gain privileges (setuid binaries).
 * - RLIMIT_CORE 0 and PR_SET_DUMPABLE 0: a crashing plugin leaves no core dump with the host's
 *   data in it, not even through a piped core_pattern (which ignores RLIMIT_CORE 0); nothing of
 *   the same user can ptrace the worker either.
 * - PR_SET_CHILD_SUBREAPER: processes a plugin orphans stay the worker's descendants, so the
 *   host can still count and kill them.
 * - A seccomp filter (syscall-filter.ts): no clone(CLONE_PARENT), so whatever a plugin starts
 *   stays inside the worker's process tree.
 * PDEATHSIG kills only the worker, not what the plugin forked: the host's janitor kills the
 * worker's whole process group and removes its temp dir when the host dies.
 */
export function hardenProcess(expectedParent: number | undefined): void {
  prctl(PR.SET_PDEATHSIG, SIGKILL);
  const parent = getppid() as number;
  if (expectedParent !== undefined && parent !== expectedParent) process.exit(70);
  if (parent === 1 && expectedParent === undefined) process.exit(70);
  prctl(PR.SET_NO_NEW_PRIVS, 1);
  installSyscallFilter();
  setrlimit(RLIMIT.CORE, 0n, 0n);
  prctl(PR.SET_DUMPABLE, 0);
  prctl(PR.SET_CHILD_SUBREAPER, 1);
}

/**
 * Closes the descriptors the host says it leaked into this process (its own that were not
 * close-on-exec, opened by native code of the app): plugin code must not read the host's files.
 * Only these: closing descriptors Node opened for itself would abort it.
 */
export function closeInheritedFds(list: string | undefined): void {
  delete process.env.AIRLOCK_INHERITED_FDS;
  for (const item of (list ?? '').split(',')) {
    const fd = Number(item);
    if (Number.isInteger(fd) && fd > 3) close(fd);
  }
}
