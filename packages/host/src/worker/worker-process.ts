import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  AIRLOCK_VERSION,
  type HelloResult,
  HelloResultSchema,
  type Limits,
  Methods,
  PROTOCOL_VERSION,
  RESULT_SCHEMAS,
  RPC_AIRLOCK_ERROR,
  WorkerErrorDataSchema,
} from '@airlock/protocol';
import type { ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { type MessageConnection, ResponseError, createMessageConnection } from 'vscode-jsonrpc/node';
import { AirlockError } from '../errors/airlock-error.js';
import { type KillIntent, type WorkerExit, classifyDeath } from '../errors/classify.js';
import { type OutputLine, OutputCapture } from '../output/output-capture.js';
import { CallWatch } from './call-watch.js';
import { guardedChannel } from './channel-guard.js';
import { killTree } from './proc-reader.js';

/** How to start a worker process. */
export interface WorkerLaunch {
  command: string;
  args: string[];
  /** The worker's whole environment (it starts from nothing else). */
  env: Record<string, string>;
  cwd?: string;
  maxFrameBytes: number;
  startTimeoutMs: number;
  watchIntervalMs: number;
  onLine: (line: OutputLine & { workerPid: number }) => void;
}

/** What a call tells the worker process besides its params. */
export interface CallInfo {
  limits: Limits;
  /** For messages: `calling int f(int) in ./lib.so`. */
  operation: string;
  signal?: AbortSignal | undefined;
}

/** Failure to start a worker (spawn, handshake); counted by the start breaker. */
export class StartFailure extends Error {
  override name = 'StartFailure';
}

interface ActiveCall {
  info: CallInfo;
  intent: KillIntent | undefined;
  resolve: (value: unknown) => void;
  reject: (error: AirlockError) => void;
  watch: CallWatch;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

let sequence = 0;

/**
 * One supervised worker process: its channel, its plugin output, its one running call, and
 * the decision of how that call ended when the worker dies. The worker and everything it
 * starts form one process group, killed as a whole.
 */
export class WorkerProcess {
  readonly pid: number;
  readonly tempDir: string;
  hello!: HelloResult;
  /** Resolves once the process has exited and its temp dir is gone. */
  readonly exited: Promise<WorkerExit>;
  private readonly connection: MessageConnection;
  private readonly output: OutputCapture;
  private active: ActiveCall | undefined;
  private pendingIntent: KillIntent | undefined;
  /** False from the moment the process is known to have exited. */
  alive = true;
  private readonly exitListeners: Array<(exit: WorkerExit) => void> = [];
  private readonly subprocess: ReturnType<typeof execa>;
  private readonly watchIntervalMs: number;

  private constructor(launch: WorkerLaunch) {
    this.tempDir = mkdtempSync(join(tmpdir(), `airlock-worker-${process.pid}-${++sequence}-`));
    this.subprocess = execa(launch.command, launch.args, {
      env: { ...launch.env, TMPDIR: this.tempDir, AIRLOCK_HOST_PID: String(process.pid), AIRLOCK_STDOUT_FD: '3' },
      extendEnv: false,
      cwd: launch.cwd,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      buffer: false,
      detached: true,
      cleanup: false,
      reject: false,
      stripFinalNewline: false,
    });
    this.watchIntervalMs = launch.watchIntervalMs;
    const child = (this.subprocess as unknown as { nodeChildProcess: ChildProcess }).nodeChildProcess;
    if (child.pid === undefined) {
      rmSync(this.tempDir, { recursive: true, force: true });
      throw new StartFailure(`Cannot spawn the worker ${JSON.stringify(launch.command)}`);
    }
    this.pid = child.pid;
    liveWorkers.add(this);
    const { reader, writer } = guardedChannel(child.stdout as Readable, child.stdin as Writable, launch.maxFrameBytes);
    this.connection = createMessageConnection(reader, writer);
    this.output = new OutputCapture({ stdout: child.stdio[3] as Readable, stderr: child.stderr as Readable }, (line) =>
      launch.onLine({ ...line, workerPid: this.pid }),
    );
    reader.onError((error) => this.kill({ kind: 'protocol', detail: error.message }));
    reader.onClose(() => {
      // A worker whose channel closed is done, whether it exits by itself or not.
      if (this.alive) setTimeout(() => this.kill({ kind: 'protocol', detail: 'the worker closed its channel' }), 1000).unref();
    });
    (child.stdin as Writable).on('error', () => undefined);
    this.exited = new Promise<WorkerExit>((resolve) => {
      child.once('exit', (exitCode: number | null, signal: NodeJS.Signals | null) => {
        void this.onExit({ exitCode, signal }).then(resolve);
      });
      child.once('error', () => undefined);
    });
    void this.subprocess.catch(() => undefined);
    this.connection.listen();
  }

  /** Spawns a worker and completes the handshake; throws StartFailure naming the cause. */
  static async start(launch: WorkerLaunch): Promise<WorkerProcess> {
    let worker: WorkerProcess;
    try {
      worker = new WorkerProcess(launch);
    } catch (error) {
      throw error instanceof StartFailure ? error : new StartFailure(`Cannot spawn the worker: ${(error as Error).message}`);
    }
    const deathFailure = (exit: WorkerExit) =>
      new StartFailure(
        `The worker ${exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.exitCode}`} before its handshake${lastWords(worker.output.lastLines())}`,
      );
    const died = worker.exited.then((exit) => {
      throw deathFailure(exit);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StartFailure(`The worker did not complete its handshake within ${launch.startTimeoutMs} ms`)), launch.startTimeoutMs);
    });
    try {
      const hello = worker.connection.sendRequest(Methods.hello, { protocolVersion: PROTOCOL_VERSION, hostVersion: AIRLOCK_VERSION }).then(
        (raw) => {
          const parsed = HelloResultSchema.safeParse(raw);
          if (!parsed.success) throw new StartFailure(`The worker's handshake is malformed: ${parsed.error.message}`);
          if (parsed.data.protocolVersion !== PROTOCOL_VERSION) {
            throw new StartFailure(
              `Protocol mismatch: this host speaks airlock protocol ${PROTOCOL_VERSION} (airlock ${AIRLOCK_VERSION}), the worker speaks protocol ${parsed.data.protocolVersion} (airlock ${parsed.data.workerVersion})`,
            );
          }
          return parsed.data;
        },
        async (error: unknown) => {
          if (!worker.alive) throw deathFailure(await worker.exited);
          throw new StartFailure(`The worker refused the handshake: ${(error as Error).message}`);
        },
      );
      worker.hello = await Promise.race([hello, died, timeout]);
      return worker;
    } catch (error) {
      worker.kill({ kind: 'close' });
      await worker.exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the worker can take a call. */
  get usable(): boolean {
    return this.alive && this.pendingIntent === undefined;
  }

  /** Whether a call is running. */
  get busy(): boolean {
    return this.active !== undefined;
  }

  /** Registers a listener for the worker's exit. */
  onExitOnce(listener: (exit: WorkerExit) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * Runs one request. Settles exactly once: with the result, with the worker's own error, or
   * (when the worker dies or is killed) with the classified death.
   */
  request(method: keyof typeof Methods & string, params: unknown, info: CallInfo): Promise<unknown> {
    if (!this.usable) return Promise.reject(new AirlockError('UNAVAILABLE', `Worker ${this.pid} is no longer usable`, { workerPid: this.pid }));
    if (this.active) return Promise.reject(new Error(`Worker ${this.pid} is busy: the pool gave it two calls`));
    if (info.signal?.aborted) return Promise.reject(cancelled(info.signal.reason, this.pid));
    const type = Methods[method] as { method: string };
    return new Promise<unknown>((resolve, reject) => {
      const call: ActiveCall = {
        info,
        intent: undefined,
        resolve,
        reject,
        timer: undefined,
        onAbort: undefined,
        watch: new CallWatch(this.pid, info.limits, this.hello.baseline.dataBytes, this.watchIntervalMs, (limit, detail) =>
          this.kill({ kind: 'limit', limit, detail }),
        ),
      };
      this.active = call;
      this.output.beginCall(info.limits.maxOutputBytes, (bytes) =>
        this.kill({ kind: 'limit', limit: 'output', detail: `${bytes} bytes written, the limit is ${info.limits.maxOutputBytes} bytes` }),
      );
      if (info.limits.timeoutMs !== undefined) {
        const timeoutMs = info.limits.timeoutMs;
        call.timer = setTimeout(() => this.kill({ kind: 'timeout', timeoutMs }), timeoutMs);
      }
      if (info.signal) {
        const signal = info.signal;
        call.onAbort = () => this.kill({ kind: 'cancel', reason: signal.reason });
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.connection.sendRequest(type.method, params).then(
        (result) => this.onResponse(call, type.method, result),
        (error: unknown) => this.onErrorResponse(call, error),
      );
    });
  }

  private onResponse(call: ActiveCall, method: string, result: unknown): void {
    if (this.active !== call || call.intent !== undefined) return;
    const schema = RESULT_SCHEMAS.get(method);
    const parsed = schema ? schema.safeParse(result) : { success: true as const, data: result };
    if (!parsed.success) {
      this.kill({ kind: 'protocol', detail: `its result for ${method} does not match the protocol: ${parsed.error.message}` });
      return;
    }
    this.finish(call);
    call.resolve(parsed.data);
  }

  private onErrorResponse(call: ActiveCall, error: unknown): void {
    if (this.active !== call || call.intent !== undefined) return;
    if (!(error instanceof ResponseError) || error.code !== RPC_AIRLOCK_ERROR) {
      // The connection gave up (disposed, closed): the exit handler decides how the call ended.
      if (error instanceof ResponseError && error.code > -32000) return;
      this.kill({ kind: 'protocol', detail: `unexpected error response: ${(error as Error).message}` });
      return;
    }
    const data = WorkerErrorDataSchema.safeParse(error.data);
    if (!data.success) {
      this.kill({ kind: 'protocol', detail: `malformed error data: ${data.error.message}` });
      return;
    }
    const output = this.finish(call);
    const { code, ...fields } = data.data;
    call.reject(new AirlockError(code, error.message, { ...fields, output, workerPid: this.pid }));
  }

  /** Ends the active call's bookkeeping; returns its last output lines. */
  private finish(call: ActiveCall): string[] {
    call.watch.stop();
    clearTimeout(call.timer);
    if (call.onAbort) call.info.signal?.removeEventListener('abort', call.onAbort);
    this.active = undefined;
    return this.output.endCall();
  }

  /**
   * Kills the worker and its whole process group, recording why first, so that its death is
   * classified by the host's intent rather than by the signal it happened to die of.
   */
  kill(intent: KillIntent): void {
    if (!this.alive) return;
    if (this.active && this.active.intent === undefined) this.active.intent = intent;
    this.pendingIntent ??= intent;
    killTree(this.pid);
  }

  /** Asks the worker to end (closing its channel), then kills it after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    if (this.alive) {
      this.pendingIntent ??= { kind: 'close' };
      this.connection.end();
      (this.subprocess.stdin as Writable | null)?.end();
      const timer = setTimeout(() => {
        try {
          process.kill(-this.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        setTimeout(() => killTree(this.pid), graceMs).unref();
      }, graceMs);
      timer.unref();
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private async onExit(exit: WorkerExit): Promise<WorkerExit> {
    this.alive = false;
    const call = this.active;
    call?.watch.sample();
    // Whatever the plugin left running in the worker's group goes with it.
    killTree(this.pid);
    // Give the pipes a moment to deliver the plugin's last words.
    await Promise.race([this.output.ended, new Promise((r) => setTimeout(r, 250))]);
    if (call && this.active === call) {
      const output = this.finish(call);
      call.reject(
        classifyDeath(call.intent, exit, {
          memoryPressure: call.watch.memoryPressure,
          memoryLimited: call.info.limits.memoryBytes !== undefined,
          cpuLimited: call.info.limits.cpuMs !== undefined,
          output,
          workerPid: this.pid,
          operation: call.info.operation,
        }),
      );
    }
    this.connection.dispose();
    for (const stream of [this.subprocess.stdout, this.subprocess.stderr, this.subprocess.stdio[3]]) (stream as Readable | null)?.destroy();
    rmSync(this.tempDir, { recursive: true, force: true });
    liveWorkers.delete(this);
    for (const listener of this.exitListeners.splice(0)) listener(exit);
    return exit;
  }
}

function cancelled(reason: unknown, workerPid: number): AirlockError {
  return new AirlockError('CANCELLED', 'The call was cancelled before it started', { cause: reason, workerPid });
}

function lastWords(lines: string[]): string {
  return lines.length === 0 ? '' : `; it wrote: ${lines.slice(-5).join(' | ')}`;
}

/** Every worker of this process still alive, killed synchronously if the host process exits. */
const liveWorkers = new Set<WorkerProcess>();
process.once('exit', () => {
  for (const worker of liveWorkers) killTree(worker.pid);
});
