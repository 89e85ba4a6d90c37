// The handshake that opens a worker's channel: what the host says, what it accepts back, and
// how a worker that never completed it is described. The reply is tainted until checked.
import { AIRLOCK_VERSION, type HelloParams, type HelloResult, HelloResultSchema, PROTOCOL_VERSION } from '@airlock/protocol';
import type { KillIntent, WorkerExit } from '../errors/classify.js';
import { StartFailure } from './worker-spawn.js';

/** The host's hello: its protocol and version, and the resident memory past which a worker retires. */
export function helloParams(maxRssBytes: number | undefined, watchMemory = false, lingerMicros = 0): HelloParams {
  return {
    protocolVersion: PROTOCOL_VERSION,
    hostVersion: AIRLOCK_VERSION,
    ...(maxRssBytes !== undefined && { maxRssBytes }),
    ...(watchMemory && { watchMemory }),
    ...(lingerMicros > 0 && { lingerMicros }),
  };
}

/** The worker's hello, checked against the schema and this host's protocol; throws StartFailure naming what is wrong. */
export function acceptHello(raw: unknown): HelloResult {
  const parsed = HelloResultSchema.safeParse(raw);
  if (!parsed.success) throw new StartFailure(`The worker's handshake is malformed: ${parsed.error.message}`);
  if (parsed.data.protocolVersion !== PROTOCOL_VERSION) {
    throw new StartFailure(
      `Protocol mismatch: this host speaks airlock protocol ${PROTOCOL_VERSION} (airlock ${AIRLOCK_VERSION}), the worker speaks protocol ${parsed.data.protocolVersion} (airlock ${parsed.data.workerVersion})`,
    );
  }
  return parsed.data;
}

/** A worker that ended before its handshake: how (killed for breaking the protocol, a signal, a status) and its last words. */
export function diedBeforeHandshake(exit: WorkerExit, intent: KillIntent | undefined, lastLines: string[]): StartFailure {
  const how =
    intent?.kind === 'protocol'
      ? `broke the protocol before its handshake (${intent.detail}) and was killed`
      : `${exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.exitCode}`} before its handshake`;
  const sandboxError = lastLines.find((line) => line.startsWith('bwrap: '));
  if (sandboxError !== undefined && intent?.kind !== 'protocol') return new StartFailure(`The sandbox could not be set up: ${sandboxError}${sandboxHint(sandboxError)}`);
  return new StartFailure(`The worker ${how}${lastWords(lastLines)}`);
}

/** What to do about bubblewrap's complaint, where it says more than the complaint does. */
function sandboxHint(error: string): string {
  if (/namespace|uid map|Operation not permitted|Permission denied/i.test(error)) {
    return ' (the sandbox needs unprivileged user namespaces: the kernel must allow them, e.g. sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0, and a container must not forbid them)';
  }
  return '';
}

/** What a worker that died before its handshake last wrote: its last lines, stack frames left out (the error's message is what tells why). */
function lastWords(lines: string[]): string {
  const telling = lines.filter((line) => line.trim().length > 0 && !/^\s+at /.test(line));
  return telling.length === 0 ? '' : `; it wrote: ${telling.slice(-5).join(' | ')}`;
}
