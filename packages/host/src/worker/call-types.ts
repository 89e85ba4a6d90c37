import type { CallParams, Isolation, Limits } from '@airlock/protocol';
import type { AirlockError } from '../errors/airlock-error.js';
import type { KillIntent } from '../errors/classify.js';
import type { OutputLine } from '../output/output-capture.js';
import type { WorkerMonitor } from './call-meter.js';
import type { CallWatch } from './call-watch.js';
import type { SpawnSpec } from './worker-spawn.js';

// What a worker process is given and what it keeps per call: the types shared by the worker
// process, the pool that launches it and the host that sends it calls.

/** How to start a worker process. */
export interface WorkerLaunch extends SpawnSpec {
  startTimeoutMs: number;
  watchIntervalMs: number;
  /** A worker resident past this after a call retires (checked by the worker). */
  maxRssBytes?: number | undefined;
  /** The host's calls have a memory limit: the worker starts its memory watcher as it starts. */
  watchMemory?: boolean | undefined;
  /** Calls a worker serves before it retires. */
  maxCalls?: number | undefined;
  /** How long the worker keeps looking for the next call before it sleeps, in µs (0: at once). */
  lingerMicros?: number | undefined;
  onLine: (line: OutputLine & { workerPid: number }) => void;
  /** Told of every call that settles and of the worker's retirement (the host's events and stats). */
  monitor?: WorkerMonitor | undefined;
}

/** What a call tells the worker process besides its params. */
export interface CallInfo {
  limits: Limits;
  /** For messages: `calling int f(int) in ./lib.so`. */
  operation: string;
  signal?: AbortSignal | undefined;
  /**
   * Turns the (schema-checked) result into the caller's value, throwing when it does not fit
   * what the call declared: the call is then a PROTOCOL_ERROR and the worker is killed.
   */
  accept?: ((result: unknown) => unknown) | undefined;
}

/** How one call of a run ended. */
export type CallOutcome = { value: unknown } | { error: AirlockError };

/**
 * Calls of one function sent to a worker together (`host.call` is a run of one): call `i`
 * takes `args[i]`. The worker runs them one at a time, in order.
 */
export interface RunRequest {
  call: Omit<CallParams, 'args'>;
  /** Wire-encoded arguments of each call. */
  args: unknown[];
  isolation: Isolation;
  /** Settles call `index`, once each. A NotStarted error means it never ran: run it elsewhere. */
  settle(index: number, outcome: CallOutcome): void;
  /** Decodes and checks call `index`'s wire value; throws when it does not fit what the call declared. */
  accept(value: unknown, index: number): unknown;
}

/**
 * A pipelined call that never started because the worker in front of it died first; the pool
 * runs it on another worker (it never ran, so this is no replay).
 */
export class NotStarted extends Error {
  override name = 'NotStarted';
}

/** Something sent to a worker: a control request (vscode-jsonrpc) or a run of calls (the hot path). Internal to WorkerProcess. */
export interface ActiveCall {
  info: CallInfo;
  /** Whether the call is at the head of the queue, running, with its limits armed. */
  armed: boolean;
  /** Whether it went out on the channel. */
  sent: boolean;
  /** Settled already (cancelled while it waited behind another call); its answer is dropped. */
  dropped: boolean;
  method: string;
  intent: KillIntent | undefined;
  /** Settles the call if the killed worker is not seen to exit in time. */
  settleTimer: NodeJS.Timeout | undefined;
  watch: CallWatch | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  /** A control request: its params, and how it settles. */
  request?: { params: unknown; resolve: (value: unknown) => void; reject: (error: AirlockError) => void };
  /** A run: what it is, the sequence number of its first call, and how many calls have settled. */
  run?: { spec: RunRequest; first: number; done: number };
}

