import PQueue from 'p-queue';
import { AirlockError } from '../errors/airlock-error.js';
import { StartFailure, type WorkerLaunch, WorkerProcess } from '../worker/worker-process.js';
import { StartBreaker } from './start-breaker.js';

/**
 * A fixed number of worker slots. Calls wait in a p-queue whose concurrency is the number of
 * slots; each running call takes an idle worker or starts one. A worker runs one call at a
 * time, so a crash, a timeout or a limit belongs to exactly one call. A worker that died is
 * simply not returned: the next call starts a fresh one. Nothing is ever replayed.
 */
export class WorkerPool {
  private readonly queue: PQueue;
  private readonly idle: WorkerProcess[] = [];
  private readonly all = new Set<WorkerProcess>();
  private readonly starting = new Set<Promise<WorkerProcess>>();
  private readonly breaker: StartBreaker;
  private closed = false;
  /** Calls waiting in the queue, rejected by close(); a running call is left to finish. */
  private readonly waiting = new Set<(error: AirlockError) => void>();

  constructor(
    private readonly launch: () => WorkerLaunch,
    readonly size: number,
    breaker: { threshold: number; cooldownMs: number; maxCooldownMs: number },
  ) {
    this.queue = new PQueue({ concurrency: size });
    this.breaker = new StartBreaker(breaker.threshold, breaker.cooldownMs, breaker.maxCooldownMs);
  }

  /** Runs `task` with a worker of its own; waits in line for a free slot. */
  run<T>(task: (worker: WorkerProcess) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      const rejectWaiting = (error: AirlockError) => reject(error);
      this.waiting.add(rejectWaiting);
      this.queue
        .add(
          async () => {
            this.waiting.delete(rejectWaiting);
            const worker = await this.acquire();
            try {
              return await task(worker);
            } finally {
              this.release(worker);
            }
          },
          signal ? { signal } : {},
        )
        .then(resolve as (value: unknown) => void, (error: unknown) => {
          this.waiting.delete(rejectWaiting);
          if (error instanceof AirlockError) return reject(error);
          // p-queue rejects with the signal's reason as soon as the caller aborts; the worker
          // running the call (if any) is killed by its own listener on the same signal.
          if (signal?.aborted) return reject(new AirlockError('CANCELLED', 'The call was cancelled', { cause: signal.reason }));
          reject(error);
        });
    });
  }

  /** Starts a worker that belongs to nobody but the caller (a session). */
  async dedicated(): Promise<WorkerProcess> {
    return this.start();
  }

  /** Starts every slot's worker now. */
  async warm(): Promise<void> {
    const missing = this.size - this.all.size;
    const started = await Promise.allSettled(Array.from({ length: missing }, () => this.start()));
    for (const result of started) if (result.status === 'fulfilled') this.release(result.value);
  }

  /** Pids of the live workers. */
  get pids(): number[] {
    return [...this.all].map((worker) => worker.pid);
  }

  private async acquire(): Promise<WorkerProcess> {
    while (this.idle.length > 0) {
      const worker = this.idle.pop()!;
      if (worker.usable) return worker;
    }
    return this.start();
  }

  private release(worker: WorkerProcess): void {
    if (this.closed || !worker.usable) return;
    this.idle.push(worker);
  }

  private async start(): Promise<WorkerProcess> {
    if (this.closed) throw closedError();
    this.breaker.check();
    const starting = WorkerProcess.start(this.launch());
    this.starting.add(starting);
    try {
      const worker = await starting;
      this.breaker.succeeded();
      if (this.closed) {
        await worker.close(0);
        throw closedError();
      }
      this.all.add(worker);
      worker.onExitOnce(() => {
        this.all.delete(worker);
        const index = this.idle.indexOf(worker);
        if (index >= 0) this.idle.splice(index, 1);
      });
      return worker;
    } catch (error) {
      if (error instanceof StartFailure) {
        this.breaker.failed(error.message);
        throw new AirlockError('UNAVAILABLE', `Cannot start a worker: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      this.starting.delete(starting);
    }
  }

  /** Ends every worker; calls still queued are rejected, running ones settle as their workers end. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    this.queue.clear();
    for (const rejectWaiting of this.waiting) rejectWaiting(closedError());
    this.waiting.clear();
    await Promise.allSettled([...this.starting]);
    await Promise.all([...this.all].map((worker) => worker.close(graceMs)));
    this.idle.length = 0;
  }
}

function closedError(): AirlockError {
  return new AirlockError('UNAVAILABLE', 'The host is closed');
}
