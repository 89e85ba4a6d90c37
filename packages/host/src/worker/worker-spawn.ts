import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { WorkerExit } from '../errors/classify.js';
import { createTrackedDir, removeTrackedDir, trackGroup } from '../lifecycle/janitor.js';
import { inheritableFds } from './inherited-fds.js';
import { readTicksSinceBoot } from './proc-reader.js';

/** What decides the process a worker is: two equal specs spawn the same worker. */
export interface SpawnSpec {
  command: string;
  args: string[];
  /** The worker's whole environment (it starts from nothing else). */
  env: Record<string, string>;
  cwd?: string | undefined;
  /** Largest frame either end of the channel accepts. */
  maxFrameBytes: number;
}

/** A worker process spawned but not yet talked to. */
export interface SpawnedWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The worker's own temp dir (its TMPDIR), removed when its host is done with it. */
  readonly tempDir: string;
  /** When the worker started, at the latest (clock ticks since boot): what it started cannot be older. */
  readonly startTime: number;
  /** Resolves when the process exits; listened for from the spawn on, so that an early exit is never missed. */
  readonly exit: Promise<WorkerExit>;
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
  const startTime = readTicksSinceBoot();
  // node:child_process, not execa: a worker's spawn needs none of what execa adds (its output is
  // read as a channel, never buffered; its exit is classified here), and execa cost 70 ms to
  // load (20 ms bundled) before the CLI's first spawn, and 5 ms more than spawn() per worker.
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      env: {
        ...spec.env,
        TMPDIR: tempDir,
        AIRLOCK_HOST_PID: String(process.pid),
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
  // The worker leads its own process group (detached): if this process dies, the janitor kills that group.
  trackGroup(pid);
  (child.stdin as NodeJS.WritableStream | null)?.on('error', () => undefined);
  const exit = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (exitCode: number | null, signal: NodeJS.Signals | null) => resolve({ exitCode, signal }));
  });
  return { child, pid, tempDir, startTime, exit };
}

/** The spec as a string, equal for equal specs. */
export function specKey(spec: SpawnSpec): string {
  return JSON.stringify([spec.command, spec.args, Object.entries(spec.env).sort(), spec.cwd ?? null, spec.maxFrameBytes]);
}
