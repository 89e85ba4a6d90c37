// `airlock-worker --remote`: the worker as the far side of a transport runs it (ssh, `docker
// exec -i`, `kubectl exec -i`). It reads the host's launch line (the worker's environment and
// channel settings, see REMOTE_LAUNCH_PREFIX), then runs the worker as its child on the same
// standard streams (nothing is relayed), so that:
// - a worker killed by a signal is reported as such (REMOTE_SIGNAL_LINE, then exit 128 + N):
//   the transports say only that they failed;
// - the worker ends with the connection: this process dies with its parent (the transport's
//   session) by PR_SET_PDEATHSIG, and the worker, whose parent it is, dies with it the same way;
// - the worker has a temp dir of its own, removed when it ends (and, when this process was
//   killed before it could remove it, by the next `--remote` that starts or ends on this machine).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readSync, readdirSync, rmSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AIRLOCK_VERSION,
  MAX_REMOTE_LAUNCH_BYTES,
  PROTOCOL_VERSION,
  REMOTE_MEMORY_LINE,
  type RemoteLaunch,
  TEMP_DIR_FILES,
  parseRemoteLaunchLine,
  remoteSignalLine,
  remoteStatusLine,
} from '@airlock/protocol';
import { PR, getppid, prctl } from '../native/libc.js';

const SIGKILL = 9;
/** The status of a far side that cannot start its worker (EX_CONFIG: the host asked for something this side cannot be). */
const EXIT_CANNOT_START = 78;
/** Prefix of the worker temp dirs this side makes: the pid of the `--remote` that made it follows. */
const TEMP_PREFIX = 'airlock-remote-';

prctl(PR.SET_PDEATHSIG, SIGKILL);
// The signal only arms for a parent alive now: one that is gone already left this orphaned.
if (getppid() === 1) process.exit(70);

/** Ends this side before any worker started, saying why on stderr (the host quotes the line). */
function refuse(why: string): never {
  process.stderr.write(`airlock-worker: ${why}\n`);
  process.exit(EXIT_CANNOT_START);
}

/**
 * Reads the launch line from standard input one byte at a time, so that not one byte of the
 * channel behind it is taken from the worker, which inherits the same descriptor.
 */
function readLaunchLine(): string {
  const bytes = Buffer.allocUnsafe(MAX_REMOTE_LAUNCH_BYTES);
  let length = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let read: number;
    try {
      read = readSync(0, bytes, length, 1, null);
    } catch (error) {
      // A descriptor left non-blocking by whoever opened it: wait for the host's bytes.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      refuse(`cannot read the host's launch line: ${(error as Error).message}`);
    }
    if (read === 0) refuse(length === 0 ? 'standard input closed before the host sent its launch line' : "standard input closed in the middle of the host's launch line");
    if (bytes[length] === 0x0a) return bytes.toString('utf8', 0, length);
    length += 1;
    if (length >= MAX_REMOTE_LAUNCH_BYTES) refuse(`the host's launch line is over ${MAX_REMOTE_LAUNCH_BYTES} bytes`);
  }
}

/** Whether the worker's memory watcher recorded that its call reached the memory limit (see TEMP_DIR_FILES). */
function memoryEvidence(dir: string): boolean {
  try {
    return readFileSync(join(dir, TEMP_DIR_FILES.memoryEvidence), 'latin1').startsWith('memory ');
  } catch {
    return false;
  }
}

/** Removes worker temp dirs whose `--remote` is gone (killed before it could remove them). */
function sweepStaleTempDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^airlock-remote-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

/** Whether a process is alive (a zombie, which nobody may reap in a container, is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return true;
  }
}

/**
 * Where shipped libraries are kept on this side, by content hash: $AIRLOCK_SHIPPED_DIR, else
 * the user's cache directory. Every worker on this machine shares it; a file is trusted only
 * once its hash has been checked through the descriptor that loads it.
 */
function shippedDir(): string {
  if (process.env.AIRLOCK_SHIPPED_DIR) return process.env.AIRLOCK_SHIPPED_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir() || tmpdir(), '.cache');
  return join(cache, 'airlock', 'shipped');
}

/**
 * The worker's environment: the host's variables, the ones of this side it names, the channel's
 * settings, and a session directory (`rundir`, whose `lib` goes last on the loader's search path:
 * a session's resources link their dependencies there by file name, as on a local worker).
 */
function workerEnv(launch: RemoteLaunch, tempDir: string, rundir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of launch.passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, launch.env);
  const libraryDir = join(rundir, 'lib');
  Object.assign(env, {
    LD_LIBRARY_PATH: env.LD_LIBRARY_PATH ? `${env.LD_LIBRARY_PATH}:${libraryDir}` : libraryDir,
    AIRLOCK_RUNDIR: rundir,
    TMPDIR: tempDir,
    // The worker's parent is this process: the worker checks that it is still there.
    AIRLOCK_HOST_PID: String(process.pid),
    AIRLOCK_MAX_FRAME_BYTES: String(launch.maxFrameBytes),
    AIRLOCK_SHIPPED_DIR: shippedDir(),
  });
  return env;
}

const launch = (() => {
  try {
    return parseRemoteLaunchLine(readLaunchLine());
  } catch (error) {
    return refuse((error as Error).message);
  }
})();
if (launch.protocolVersion !== PROTOCOL_VERSION) {
  refuse(
    `Protocol mismatch: the host speaks airlock protocol ${launch.protocolVersion} (airlock ${launch.hostVersion}), this worker speaks protocol ${PROTOCOL_VERSION} (airlock ${AIRLOCK_VERSION}): install the host's version of @airlock/worker on this machine`,
  );
}

sweepStaleTempDirs(tmpdir());
const tempDir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
const rundir = join(tempDir, 'session');
mkdirSync(join(rundir, 'lib'), { recursive: true });
// On the way out too: a side killed while this one ran (its connection dropped) is gone by now.
const removeTempDir = () => {
  rmSync(tempDir, { recursive: true, force: true });
  sweepStaleTempDirs(tmpdir());
};
const entry = fileURLToPath(new URL('./entry.js', import.meta.url));
const worker = spawn(process.execPath, ['--no-warnings', launch.singleThreaded ? '--single-threaded' : '--single-threaded-gc', entry], {
  stdio: 'inherit',
  env: workerEnv(launch, tempDir, rundir),
  cwd: tempDir,
});
// Asked to stop (the session's hang-up, a container's stop): the worker goes at once, as a killed one would.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => worker.kill('SIGKILL'));
worker.on('exit', (code, signal) => {
  if (signal === null) {
    removeTempDir();
    // A status past 128 reads like a signal's: the last line says it was the worker's own, so
    // that a line the plugin wrote (a forged signal line, then exit(139)) is not the last one.
    if (code !== null && code > 128) process.stderr.write(`${remoteStatusLine(code)}\n`);
    process.exitCode = code ?? 1;
    return;
  }
  const atMemoryLimit = memoryEvidence(tempDir);
  removeTempDir();
  process.stderr.write(`${atMemoryLimit ? `${REMOTE_MEMORY_LINE}\n` : ''}${remoteSignalLine(signal)}\n`);
  process.exitCode = 128 + (constants.signals[signal] ?? 0);
});
worker.on('error', (error) => {
  removeTempDir();
  process.stderr.write(`airlock-worker: cannot start the worker: ${error.message}\n`);
  process.exitCode = 1;
});
