import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { SandboxSpawn } from './sandbox-view.js';

/** The uid and gid plugin code runs as inside the sandbox (`nobody`), whatever the host's. */
export const SANDBOX_UID = 65534;
/** Size of the sandbox's private /tmp and /dev/shm (tmpfs, memory the worker's own limits do not count). */
const TMPFS_BYTES = 64 * 1024 * 1024;

/** Thrown when a sandbox is asked for and bubblewrap is not there to make it. */
export class SandboxUnavailable extends Error {
  override name = 'SandboxUnavailable';
}

let found: string | undefined;

/** The bwrap executable on PATH (looked up once); throws SandboxUnavailable naming how to get it. */
export function findBubblewrap(): string {
  if (found !== undefined) return found;
  // PATH alone, as a shell would look: where bwrap is found is the user's to choose.
  const path = process.env.PATH ?? '';
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      found = candidate;
      return candidate;
    } catch {
      /* not here */
    }
  }
  throw new SandboxUnavailable(
    `The sandbox needs bubblewrap (bwrap), which is not on PATH (${path}): install it (Debian and Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Alpine: apk add bubblewrap)`,
  );
}

/**
 * bubblewrap's arguments for a worker: namespaces of its own (user, PID, IPC, UTS, cgroup where
 * possible, network unless the policy lets it use the host's), uid and gid `nobody`, no
 * capabilities, no further user namespaces, a new session (no TIOCSTI into the host's
 * terminal), death with its parent; a root of its own holding only `spawn.mounts`, fresh /dev,
 * /proc (of its PID namespace) and /tmp; and `cwd` as its working directory. `keepTerminal`
 * leaves out the new session: an interactive shell needs the caller's terminal (its size, its
 * signals), and gets what the kernel allows of TIOCSTI on it.
 */
export function bubblewrapArgs(spawn: SandboxSpawn, cwd: string, keepTerminal = false): string[] {
  const args = [
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'airlock-sandbox',
    '--unshare-cgroup-try',
    ...(spawn.network ? [] : ['--unshare-net']),
    '--cap-drop',
    'ALL',
    '--disable-userns',
    '--die-with-parent',
    ...(keepTerminal ? [] : ['--new-session']),
  ];
  // The fresh file systems first: a bind below /tmp (the worker's temp dir) goes on top of the /tmp made here.
  args.push('--dev', '/dev', '--size', String(TMPFS_BYTES), '--tmpfs', '/dev/shm', '--proc', '/proc', '--size', String(TMPFS_BYTES), '--tmpfs', '/tmp');
  for (const mount of spawn.mounts) {
    if (mount.kind === 'symlink') args.push('--symlink', mount.target, mount.path);
    else args.push(mount.kind === 'ro' ? '--ro-bind' : '--bind', mount.path, mount.path);
  }
  args.push('--chdir', cwd);
  return args;
}
