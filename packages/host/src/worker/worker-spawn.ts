import { type ChildProcess, spawn } from 'node:child_process';
import { constants, tmpdir } from 'node:os';
import { type RemoteLaunch, remoteLaunchLine } from '@airlock/protocol';
import type { WorkerExit } from '../errors/classify.js';
import { createTrackedDir, removeTrackedDir, trackGroup } from '../lifecycle/janitor.js';
import { bubblewrapArgs, findBubblewrap } from '../sandbox/bubblewrap.js';
import type { SandboxSpawn } from '../sandbox/sandbox-view.js';
import { inheritableFds } from './inherited-fds.js';
import { readStartTime, readTicksSinceBoot } from './proc-reader.js';

/** What decides the process a worker is: two equal specs spawn the same worker. */
export interface SpawnSpec {
  command: string;
  args: string[];
  /** The worker's whole environment (it starts from nothing else). */
  env: Record<string, string>;
  cwd?: string | undefined;
  /** Largest frame either end of the channel accepts. */
  maxFrameBytes: number;
  /** Runs the worker under bubblewrap, seeing only these mounts (besides its own temp dir). */
  sandbox?: SandboxSpawn | undefined;
  /**
   * The worker runs on another machine: `command` and `args` start the transport (ssh …
   * airlock-worker --remote), which gets this process's environment (ssh needs HOME, its agent
   * …), and the worker's own environment travels in the launch line, written first on its stdin.
   */
  remote?: { transport: string; where: string; launch: RemoteLaunch } | undefined;
}

/** A worker process spawned but not yet talked to. */
export interface SpawnedWorker {
  readonly child: ChildProcess;
  /** The process spawned, leader of the group that is killed as a whole: the worker, or the bubblewrap around it. */
  readonly pid: number;
  /** Whether the worker runs in a sandbox (then `pid` is bubblewrap's, and the worker is its grandchild). */
  readonly sandboxed: boolean;
  /** The worker's own temp dir (its TMPDIR), removed when its host is done with it. */
  readonly tempDir: string;
  /** When the worker started (clock ticks since boot, as /proc gives every process's start): what it started cannot be older. */
  readonly startTime: number;
  /** Resolves when the process exits; listened for from the spawn on, so that an early exit is never missed. */
  readonly exit: Promise<WorkerExit>;
  /** When it was spawned, on this process's clock (performance.now()). */
  readonly spawnedAt: number;
}

/** Thrown when a worker cannot be spawned; counted by the start breaker. */
export class StartFailure extends Error {
  override name = 'StartFailure';
}

let sequence = 0;

/**
 * Spawns a worker process: its own process group (the janitor kills it if this process dies),
 * its own temp dir, the channel on 0/1 and the plugin's stderr and stdout on 2 and 3.
 */
export function spawnWorker(spec: SpawnSpec): SpawnedWorker {
  const tempDir = createTrackedDir(tmpdir(), `airlock-worker-${process.pid}-${++sequence}-`);
  // Descriptors of this process that are not close-on-exec are inherited by the worker; it
  // closes the ones listed here before any plugin code can read them.
  const leaking = inheritableFds();
  const spawnedAt = performance.now();
  let command = spec.command;
  let args = spec.args;
  if (spec.sandbox !== undefined) {
    try {
      command = findBubblewrap();
    } catch (error) {
      removeTrackedDir(tempDir);
      throw new StartFailure((error as Error).message);
    }
    const mounts = [...spec.sandbox.mounts, { kind: 'rw' as const, path: tempDir }];
    args = [...bubblewrapArgs({ ...spec.sandbox, mounts }, sandboxCwd(spec.cwd ?? process.cwd(), mounts, tempDir)), '--', spec.command, ...spec.args];
  }
  // node:child_process, not execa: a worker's spawn needs none of what execa adds (its output is
  // read as a channel, never buffered; its exit is classified here), and execa cost 70 ms to
  // load (20 ms bundled) before the CLI's first spawn, and 5 ms more than spawn() per worker.
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      env: spec.remote !== undefined ? process.env : {
        ...spec.env,
        TMPDIR: tempDir,
        // In a sandbox the worker's parent is its PID namespace's init (bubblewrap), pid 1 there.
        AIRLOCK_HOST_PID: spec.sandbox !== undefined ? '1' : String(process.pid),
        AIRLOCK_STDOUT_FD: '3',
        // Both ends of the channel refuse frames past the same size.
        AIRLOCK_MAX_FRAME_BYTES: String(spec.maxFrameBytes),
        ...(leaking.length > 0 && { AIRLOCK_INHERITED_FDS: leaking.join(',') }),
      },
      ...(spec.cwd !== undefined && { cwd: spec.cwd }),
      // 0/1: the channel; 2 and 3: plugin stderr and stdout.
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // A spawn that fails (no such command) reports it as an 'error' event, after pid was left unset.
    child.once('error', () => undefined);
  } catch (error) {
    removeTrackedDir(tempDir);
    throw new StartFailure(`Cannot spawn the worker ${JSON.stringify(spec.command)}: ${(error as Error).message}`);
  }
  if (child.pid === undefined) {
    removeTrackedDir(tempDir);
    throw new StartFailure(`Cannot spawn the worker ${JSON.stringify(spec.command)}`);
  }
  const pid = child.pid;
  // When the worker started, by the clock of every process's start time (stat field 22). /proc/uptime
  // read before the spawn is another clock: at a tick's edge a process started just before the
  // worker could read as started after it, and be taken for one of its commands.
  const startTime = readStartTime(pid) ?? readTicksSinceBoot();
  // The worker leads its own process group (detached): if this process dies, the janitor kills that group.
  trackGroup(pid);
  (child.stdin as NodeJS.WritableStream | null)?.on('error', () => undefined);
  // Before the channel's first frame (the handshake), which goes out on the same pipe after it.
  if (spec.remote !== undefined) (child.stdin as NodeJS.WritableStream | null)?.write(remoteLaunchLine(spec.remote.launch));
  const exit = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (exitCode: number | null, signal: NodeJS.Signals | null) =>
      resolve(spec.sandbox !== undefined && signal === null ? unwrapSandboxExit(exitCode) : { exitCode, signal }),
    );
  });
  return { child, pid, sandboxed: spec.sandbox !== undefined, tempDir, startTime, exit, spawnedAt };
}

/** Signal names by number; of two names for one number the first listed, as Node names a child's signal (SIGABRT, not SIGIOT). */
const SIGNAL_NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name);

/**
 * How a sandboxed worker ended. bubblewrap, whose exit the host sees, exits with the worker's
 * status, and with 128 + N when the worker was killed by signal N: that is read back as the
 * signal (a plugin that calls exit() with such a status reads as that signal too: bubblewrap
 * reports both alike).
 */
export function unwrapSandboxExit(exitCode: number | null): WorkerExit {
  const signal = exitCode !== null && exitCode > 128 ? SIGNAL_NAMES.get(exitCode - 128) : undefined;
  return signal !== undefined ? { exitCode: null, signal } : { exitCode, signal: null };
}

/** The working directory of a sandboxed worker: the one asked for if the sandbox shows it, else the worker's temp dir. */
function sandboxCwd(cwd: string, mounts: SandboxSpawn['mounts'], tempDir: string): string {
  const shown = mounts.some((mount) => mount.kind === 'rw' || mount.kind === 'ro' ? cwd === mount.path || cwd.startsWith(`${mount.path}/`) : false);
  return shown ? cwd : tempDir;
}

/** The spec as a string, equal for equal specs. */
export function specKey(spec: SpawnSpec): string {
  return JSON.stringify([spec.command, spec.args, Object.entries(spec.env).sort(), spec.cwd ?? null, spec.maxFrameBytes, spec.sandbox ?? null, spec.remote ?? null]);
}
