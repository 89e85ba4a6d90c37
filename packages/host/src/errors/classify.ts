import { constants } from 'node:os';
import { type LimitKind, reportedMemoryPressure, reportedSignal } from '@airlock/protocol';
import { AirlockError } from './airlock-error.js';

/** Why the host itself stopped a worker, recorded before it sends the signal. */
export type KillIntent =
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'limit'; limit: LimitKind; detail: string }
  | { kind: 'cancel'; reason: unknown }
  | { kind: 'protocol'; detail: string }
  | { kind: 'retire'; reason: string }
  | { kind: 'close' };

/**
 * Why a worker ended, in words: what the host intended (`closed`, `retired: …`, `timeout`,
 * `limit: memory`, `cancelled`, `protocol: …`), else `crashed` when it died during a call and
 * `exited` when it died idle.
 */
export function endReason(intent: KillIntent | undefined, duringCall: boolean): string {
  switch (intent?.kind) {
    case 'close':
      return 'closed';
    case 'retire':
      return `retired: ${intent.reason}`;
    case 'timeout':
      return 'timeout';
    case 'limit':
      return `limit: ${intent.limit}`;
    case 'cancel':
      return 'cancelled';
    case 'protocol':
      return `protocol: ${intent.detail}`;
    default:
      return duringCall ? 'crashed' : 'exited';
  }
}

/** How a worker process ended, as the OS reported it. */
export interface WorkerExit {
  signal: string | null;
  exitCode: number | null;
}

/** What else the host saw about the call when the worker died. */
export interface DeathEvidence {
  /** The worker's memory was at (or near) the call's memory limit. */
  memoryPressure: boolean;
  /** The call had a memory limit. */
  memoryLimited: boolean;
  /** The call had a CPU limit. */
  cpuLimited: boolean;
  output: string[];
  workerPid: number;
  /** What the worker was doing, for the message: `calling int f(int) in ./lib.so`. */
  operation: string;
  /** The transport of a worker on another machine (`ssh`): the process whose end the OS reported is its client. */
  transport?: string | undefined;
}

/** The status with which ssh reports its own failure (the connection, not the far side's command). */
const SSH_FAILED = 255;

const MEMORY_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT', 'SIGKILL', 'SIGTRAP']);

/**
 * The one place a worker's death becomes an error. The host's own intent decides first (it
 * knows it killed for a timeout, a limit, a cancel); only then does what the OS reported.
 */
export function classifyDeath(intent: KillIntent | undefined, reported: WorkerExit, evidence: DeathEvidence): AirlockError {
  const exit = farSideExit(reported, evidence.output);
  const base = { output: evidence.output, workerPid: evidence.workerPid };
  const during = `while ${evidence.operation}`;
  switch (intent?.kind) {
    case 'timeout':
      return new AirlockError('TIMEOUT', `Timed out after ${intent.timeoutMs} ms ${during}; the worker was killed`, base);
    case 'limit':
      return new AirlockError('LIMIT_EXCEEDED', `The ${intent.limit} limit was exceeded ${during} (${intent.detail}); the worker was killed`, {
        ...base,
        limit: intent.limit,
      });
    case 'cancel':
      return new AirlockError('CANCELLED', `Cancelled ${during}; the worker was killed`, { ...base, cause: intent.reason });
    case 'protocol':
      return new AirlockError('PROTOCOL_ERROR', `The worker broke the protocol ${during}: ${intent.detail}; it was killed`, base);
    case 'close':
      return new AirlockError('CANCELLED', `The host was closed ${during}`, base);
    case 'retire':
      // Retired workers run no call; a call still on one was never started by it.
      return new AirlockError('UNAVAILABLE', `The worker was retired (${intent.reason}) ${during}`, base);
    case undefined:
      break;
  }
  if (evidence.transport !== undefined && exit === reported) {
    const lost = connectionLost(evidence.transport, reported, evidence.output);
    if (lost !== undefined) {
      return new AirlockError('UNAVAILABLE', `The connection to the worker was lost ${during}: ${lost}; the call may have run`, {
        ...base,
        details: { transport: evidence.transport, ...(reported.signal !== null ? { transportSignal: reported.signal } : { transportExitCode: reported.exitCode }) },
      });
    }
  }
  if (exit.signal === 'SIGXCPU' && evidence.cpuLimited) {
    return new AirlockError('LIMIT_EXCEEDED', `The cpu limit was exceeded ${during} (SIGXCPU)`, { ...base, limit: 'cpu', signal: exit.signal });
  }
  const memoryPressure = evidence.memoryPressure || (exit !== reported && reportedMemoryPressure(evidence.output));
  if (evidence.memoryLimited && memoryPressure && (exit.signal === null || MEMORY_SIGNALS.has(exit.signal))) {
    return new AirlockError('LIMIT_EXCEEDED', `The memory limit was exceeded ${during} (the worker died by ${exit.signal ?? `exit ${exit.exitCode}`} at its memory limit)`, {
      ...base,
      limit: 'memory',
      ...(exit.signal !== null ? { signal: exit.signal } : { exitCode: exit.exitCode ?? undefined }),
    });
  }
  if (exit.signal !== null) {
    return new AirlockError('CRASHED', `The worker crashed with ${exit.signal} ${during}`, { ...base, signal: exit.signal });
  }
  return new AirlockError('CRASHED', `The worker exited with status ${exit.exitCode} ${during}`, { ...base, exitCode: exit.exitCode ?? undefined });
}

/**
 * Why the connection to a worker behind a transport ended, when it was the transport that
 * ended (not the worker, which the far side reports by its own line): its client killed by a
 * signal here, or ssh's own failure status with its last word. Undefined otherwise.
 */
function connectionLost(transport: string, exit: WorkerExit, output: string[]): string | undefined {
  if (exit.signal !== null) return `its ${transport} client was killed by ${exit.signal}`;
  if (transport === 'ssh' && exit.exitCode === SSH_FAILED) {
    const said = output.findLast((line) => line.trim().length > 0);
    return `ssh exited with status 255${said !== undefined ? ` (${said.trim()})` : ''}`;
  }
  return undefined;
}

/**
 * How a worker behind a transport (`airlock-worker --remote` under ssh, say) ended: the transport
 * exits with a status, and the worker's last line says which signal killed it (see
 * REMOTE_SIGNAL_LINE). A status without such a line, or that does not agree with it, stands.
 */
function farSideExit(exit: WorkerExit, output: string[]): WorkerExit {
  if (exit.signal !== null) return exit;
  const signal = reportedSignal(exit.exitCode, output.at(-1), (name) => (constants.signals as Record<string, number>)[name]);
  return signal === undefined ? exit : { signal, exitCode: null };
}
