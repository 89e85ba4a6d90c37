import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

/**
 * The janitor's script. It reads lines from the host until its stdin ends, which happens when
 * the host process ends, however it ends (SIGKILL included): `+d PATH` / `-d PATH` add and drop
 * a directory, `+g PGID` / `-g PGID` a worker's process group. At the end it kills every group
 * still listed and removes every directory still listed. It ignores the signals a terminal or a
 * supervisor sends to the host's process group, and it lives in a session of its own.
 */
const JANITOR_SCRIPT = `
trap '' INT TERM HUP QUIT PIPE
set -f
nl='
'
dirs=$nl
groups=' '
while IFS= read -r line; do
  item=\${line#?? }
  case $line in
    '+d '*) dirs="$dirs$item$nl" ;;
    '-d '*) case $dirs in *"$nl$item$nl"*) dirs="\${dirs%%"$nl$item$nl"*}$nl\${dirs#*"$nl$item$nl"}" ;; esac ;;
    '+g '*) groups="$groups$item " ;;
    '-g '*) case $groups in *" $item "*) groups="\${groups%% $item *} \${groups#* $item }" ;; esac ;;
  esac
done
for group in $groups; do kill -9 -"$group" 2>/dev/null; done
IFS=$nl
for dir in $dirs; do [ -n "$dir" ] && rm -rf -- "$dir"; done
`;

let janitor: { child: ChildProcess; input: Writable } | undefined;
const dirs = new Set<string>();
const groups = new Set<number>();

/** Starts the janitor of this process once; it never holds the event loop. */
function tell(line: string): void {
  if (janitor === undefined) {
    const child = spawn('/bin/sh', ['-c', JANITOR_SCRIPT, 'airlock-janitor'], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin' },
      detached: true,
    });
    child.on('error', () => undefined);
    const input = child.stdin as Writable & { unref?: () => void };
    input.on('error', () => undefined);
    child.unref();
    input.unref?.();
    janitor = { child, input };
  }
  // A pipe with room is written at once (libuv writes synchronously when nothing is queued):
  // the line is with the janitor before the directory or group it names exists.
  janitor.input.write(`${line}\n`);
}

/**
 * Creates a private (0700) directory `parent/prefixXXXXXXXX` that is removed when this process
 * ends, however it ends: it is registered with the janitor before it is created, so there is
 * no moment at which it exists unregistered.
 */
export function createTrackedDir(parent: string, prefix: string): string {
  for (let attempt = 0; ; attempt += 1) {
    const path = join(parent, `${prefix}${randomHex(6)}`);
    tell(`+d ${path}`);
    dirs.add(path);
    try {
      mkdirSync(path, { mode: 0o700 });
      return path;
    } catch (error) {
      untrackDir(path);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
    }
  }
}

/**
 * `bytes` random bytes from the kernel, in hex. Read from /dev/urandom rather than node:crypto,
 * which takes 4 ms to load: plugin-run names its first worker's temp dir before it spawns it.
 */
function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buffer, 0, bytes, null);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('hex');
}

/** Removes a directory made by createTrackedDir (a few tries: something may still write into it). */
export function removeTrackedDir(path: string): void {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      rmSync(path, { recursive: true, force: true, maxRetries: 2 });
      break;
    } catch {
      /* try again */
    }
  }
  untrackDir(path);
}

function untrackDir(path: string): void {
  if (dirs.delete(path)) tell(`-d ${path}`);
}

/** Registers a worker's process group: killed if this process ends while the group is listed. */
export function trackGroup(pgid: number): void {
  if (groups.has(pgid)) return;
  groups.add(pgid);
  tell(`+g ${pgid}`);
}

/** Drops a process group (its leader has been reaped: the number may be reused from now on). */
export function untrackGroup(pgid: number): void {
  if (groups.delete(pgid)) tell(`-g ${pgid}`);
}

// process.exit(), an uncaught exception, the event loop running dry: Node runs 'exit' listeners,
// and the work is done synchronously here; only signals that end the host without them (SIGKILL,
// an unhandled SIGTERM or SIGINT) are left to the janitor.
process.once('exit', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const path of dirs) rmSync(path, { recursive: true, force: true });
});
