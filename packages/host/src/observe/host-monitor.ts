import type { EventEmitter } from 'node:events';
import type { ErrorCode } from '@airlock/protocol';
import type { CallEvent, WorkerMonitor } from '../worker/call-meter.js';
import { contained } from '../worker/worker-launch.js';

/** A worker has started (answered its handshake). */
export interface WorkerStartEvent {
  /** Its pid on this machine (a launched worker's is its transport's: the ssh client). */
  pid: number;
  /** Where it runs: `local`, or its group's launcher joined by spaces (`ssh build-box`). */
  where: string;
  /** From its spawn to its handshake's answer, in ms. */
  startMs: number;
  /** When it was spawned and when it answered, on this process's clock (performance.now()). */
  spawnedAt: number;
  readyAt: number;
}

/** A worker has ended. */
export interface WorkerExitEvent {
  pid: number;
  /** Where it ran (as in WorkerStartEvent). */
  where: string;
  exitCode: number | null;
  signal: string | null;
  /** `closed`, `retired: …`, `timeout`, `limit: memory`, `cancelled`, `protocol: …`, `crashed` (during a call) or `exited`. */
  reason: string;
}

/** A worker retires: it takes no more calls and ends once those it has settle. */
export interface WorkerRetireEvent {
  pid: number;
  reason: string;
}

/** The events of a Host, with what each carries. */
export interface HostEvents {
  'worker-start': [WorkerStartEvent];
  'worker-exit': [WorkerExitEvent];
  'worker-retire': [WorkerRetireEvent];
  /** Once per settled call (each element of a callMany too); listening makes airlock read each call's CPU and memory from /proc. */
  call: [CallEvent];
}

/** What `host.stats()` reports. */
export interface HostStats {
  workers: { idle: number; busy: number; starting: number };
  /** Calls waiting for a slot (not sent to any worker yet). */
  queued: number;
  /** Calls holding a slot: running, or sent to a worker that runs them in turn. */
  running: number;
  /** Settled calls by outcome: `ok`, and each error code seen. */
  calls: { ok: number } & Partial<Record<ErrorCode, number>>;
}

/** What the pool tells its monitor beside what workers do. */
export interface PoolMonitor extends WorkerMonitor {
  workerStarted(event: WorkerStartEvent): void;
  workerExited(event: WorkerExitEvent): void;
}

/**
 * Turns what the pool and its workers report into the host's events and counts. A listener
 * that throws is reported once as a process warning (AIRLOCK_CALLBACK_ERROR) and never reaches
 * the worker that was reporting.
 */
export class HostMonitor implements PoolMonitor {
  readonly calls: { ok: number } & Partial<Record<ErrorCode, number>> = { ok: 0 };
  private readonly emitters = new Map<keyof HostEvents, (payload: never) => void>();

  constructor(
    private readonly events: EventEmitter<HostEvents>,
    readonly withOutput = false,
  ) {}

  measuring(): boolean {
    return this.events.listenerCount('call') > 0;
  }

  callSettled(event: CallEvent): void {
    this.callCounted(event.outcome);
    this.emit('call', event);
  }

  callCounted(outcome: CallEvent['outcome']): void {
    this.calls[outcome] = (this.calls[outcome] ?? 0) + 1;
  }

  workerRetired(pid: number, reason: string): void {
    this.emit('worker-retire', { pid, reason });
  }

  workerStarted(event: WorkerStartEvent): void {
    this.emit('worker-start', event);
  }

  workerExited(event: WorkerExitEvent): void {
    this.emit('worker-exit', event);
  }

  private emit<K extends keyof HostEvents>(name: K, payload: HostEvents[K][0]): void {
    if (this.events.listenerCount(name) === 0) return;
    let emit = this.emitters.get(name);
    if (emit === undefined) {
      emit = contained((value: never) => (this.events.emit as (name: K, value: unknown) => boolean)(name, value), `'${name}' listener`);
      this.emitters.set(name, emit);
    }
    (emit as (value: HostEvents[K][0]) => void)(payload);
  }
}
