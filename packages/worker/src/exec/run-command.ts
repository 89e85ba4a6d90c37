// Runs one command: in a session of its own (so that `kill 0` in a script cannot reach the
// worker), on real pipes, its output captured for the result and echoed to the worker's own
// stdout/stderr (which the host reads: that is where maxOutputBytes is counted and log lines
// come from), watched for CPU and memory, and killed to the last process when it stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEMP_DIR_FILES } from '@airlock/protocol';
import { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { LaunchLine } from './drivers.js';
import { pipe, reapOrphans } from './native.js';
import { descendantsOf, killCommand, readDataBytes, readStat } from './process-tree.js';

/** Lines of output kept for an error's `output`. */
export const TAIL_LINES = 20;
const MAX_LINE = 4096;

export interface CommandRun {
  launch: LaunchLine;
  env: Record<string, string>;
  cwd: string;
  /** Written to the command's stdin, then closed; without it stdin is /dev/null. */
  stdin?: string | undefined;
  /** Total CPU of all the command's processes, in ms (the worker stops the command past it). */
  cpuMs?: number | undefined;
  /** Watch the processes' memory (for `peakDataBytes`). */
  watchMemory?: boolean | undefined;
  /** Bytes of stdout (and of stderr) kept for the result; the rest is only echoed. */
  captureBytes: number;
  /** Where each chunk goes besides the capture (the worker's fds 1 and 2). */
  echo?: { stdout(chunk: Buffer): void; stderr(chunk: Buffer): void } | undefined;
  /** How often CPU and memory are sampled. Default 20 ms. */
  watchIntervalMs?: number | undefined;
}

export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Streams whose capture hit `captureBytes`. */
  truncated: Array<'stdout' | 'stderr'>;
  /** The last lines of stdout and stderr, in the order they came. */
  tail: string[];
  /** Set when the worker stopped the command for its CPU: the ms it had used. */
  cpuExceededMs?: number;
  /** The largest VmData seen in one of its processes. */
  peakDataBytes: number;
  /** spawn() itself failed (E2BIG, ENOENT of the cwd …). */
  spawnError?: NodeJS.ErrnoException;
  /** Processes still alive when the command's main process ended (killed). */
  leftovers: number;
}

/** Commands running now: leader pid → the worker's descendants before it started. */
const running = new Map<number, ReadonlySet<number>>();

/**
 * Lists a running command's process group in the worker's temp dir: if the worker is killed
 * (SIGKILL, the OOM killer), the host reads the list and kills the groups the worker cannot.
 */
function recordGroup(leader: number, running: boolean): void {
  const tempDir = process.env.TMPDIR;
  if (!tempDir) return;
  const dir = join(tempDir, TEMP_DIR_FILES.commandGroups);
  try {
    if (running) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, String(leader)), '');
    } else {
      rmSync(join(dir, String(leader)), { force: true });
    }
  } catch {
    /* the list is a safety net; a command runs without it */
  }
}

/** Kills every running command; safe in an 'exit' handler. */
export function killRunningCommands(): void {
  for (const [leader, before] of running) killCommand(leader, before);
}

// The worker exits when its channel closes (process.exit): commands go with it. A SIGTERM
// (the host's close after its grace period) would end Node without 'exit' handlers, so while a
// command runs SIGTERM kills the commands first.
process.on('exit', killRunningCommands);
const onTerm = () => {
  killRunningCommands();
  process.exit(143);
};

/** Runs a command to its end; never rejects. */
export async function runCommand(run: CommandRun): Promise<CommandOutcome> {
  const before = new Set(descendantsOf('self'));
  const capture = new Capture(run.captureBytes);
  const outcome: Partial<CommandOutcome> & { leftovers: number } = { leftovers: 0 };

  const out = pipe();
  const err = pipe();
  const input = run.stdin !== undefined ? pipe() : undefined;
  let child: ChildProcess;
  try {
    child = spawn(run.launch.file, run.launch.args, {
      argv0: run.launch.argv0,
      env: run.env,
      cwd: run.cwd,
      detached: true,
      stdio: [input?.read ?? 'ignore', out.write, err.write],
    });
  } catch (error) {
    for (const fd of [out.read, out.write, err.read, err.write, input?.read, input?.write]) if (fd !== undefined) closeQuietly(fd);
    return failed(error as NodeJS.ErrnoException);
  } finally {
    closeQuietly(out.write);
    closeQuietly(err.write);
    if (input) closeQuietly(input.read);
  }

  const streams = {
    stdout: new Socket({ fd: out.read, readable: true, writable: false }),
    stderr: new Socket({ fd: err.read, readable: true, writable: false }),
  };
  const ended = Promise.all(
    (['stdout', 'stderr'] as const).map(
      (name) =>
        new Promise<void>((resolve) => {
          const stream = streams[name];
          stream.on('data', (chunk: Buffer) => {
            capture.take(name, chunk);
            run.echo?.[name](chunk);
          });
          stream.once('end', () => resolve());
          stream.once('close', () => resolve());
          stream.once('error', () => resolve());
        }),
    ),
  );
  if (input) {
    const stdin = new Socket({ fd: input.write, readable: false, writable: true });
    stdin.on('error', () => undefined); // a command that does not read its stdin
    stdin.end(run.stdin ?? '');
  }

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ error: error as NodeJS.ErrnoException });
    });
  });

  const leader = child.pid;
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  if (leader !== undefined) {
    running.set(leader, before);
    recordGroup(leader, true);
    if (running.size === 1) process.on('SIGTERM', onTerm);
  }
  if (leader !== undefined && (run.cpuMs !== undefined || run.watchMemory)) {
    const sample = () => {
      const pids = [leader, ...descendantsOf('self').filter((pid) => pid !== leader && !before.has(pid))];
      let cpu = 0;
      for (const pid of pids) {
        cpu += readStat(pid)?.cpuMs ?? 0;
        peak = Math.max(peak, readDataBytes(pid));
      }
      if (run.cpuMs !== undefined && cpu > run.cpuMs && outcome.cpuExceededMs === undefined) {
        outcome.cpuExceededMs = cpu;
        killCommand(leader, before);
      }
    };
    timer = setInterval(sample, run.watchIntervalMs ?? 20);
    timer.unref();
  }

  const end = await exited;
  clearInterval(timer);
  if ('error' in end) {
    destroy(streams);
    return failed(end.error);
  }
  // Whatever the command left behind (background jobs, daemons) dies with it.
  outcome.leftovers = killCommand(leader!, before).length;
  running.delete(leader!);
  recordGroup(leader!, false);
  if (running.size === 0) process.off('SIGTERM', onTerm);
  await reapAll(before);
  // Every writer is dead: the pipes deliver what is left, then end.
  await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  destroy(streams);
  const captured = capture.finish();
  return {
    exitCode: end.code,
    signal: end.signal,
    ...captured,
    peakDataBytes: peak,
    leftovers: outcome.leftovers,
    ...(outcome.cpuExceededMs !== undefined && { cpuExceededMs: outcome.cpuExceededMs }),
  };

  function failed(error: NodeJS.ErrnoException): CommandOutcome {
    return { exitCode: null, signal: null, stdout: '', stderr: '', truncated: [], tail: [], peakDataBytes: 0, spawnError: error, leftovers: 0 };
  }
}

/** Reaps the killed orphans (they become zombies of the worker a moment after SIGKILL). */
async function reapAll(before: ReadonlySet<number>): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    reapOrphans(before);
    const left = descendantsOf('self').filter((pid) => !before.has(pid));
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function destroy(streams: Record<string, Socket>): void {
  for (const stream of Object.values(streams)) stream.destroy();
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** The captured output: bytes up to a cap per stream, and the last lines of both. */
class Capture {
  private readonly chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  private readonly bytes = { stdout: 0, stderr: 0 };
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly partial = { stdout: '', stderr: '' };
  private readonly truncated = new Set<'stdout' | 'stderr'>();
  private tail: string[] = [];

  constructor(private readonly cap: number) {}

  take(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const room = this.cap - this.bytes[stream];
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks[stream].push(kept);
      this.bytes[stream] += kept.length;
    }
    if (chunk.length > room) this.truncated.add(stream);
    let text = this.partial[stream] + this.decoders[stream].write(chunk);
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      this.line(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (text.length > MAX_LINE) {
      this.line(text);
      text = '';
    }
    this.partial[stream] = text;
  }

  finish(): Pick<CommandOutcome, 'stdout' | 'stderr' | 'truncated' | 'tail'> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      if (rest.length > 0) this.line(rest);
    }
    return {
      stdout: Buffer.concat(this.chunks.stdout).toString('utf8'),
      stderr: Buffer.concat(this.chunks.stderr).toString('utf8'),
      truncated: [...this.truncated],
      tail: this.tail,
    };
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    this.tail.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }
}
