import type { Logger } from '../options/host-options.js';
import type { Host } from '../host.js';
import { contained } from '../worker/worker-launch.js';

/** Why a worker ended that says something went wrong with a call (warn), rather than the host's own doing (info). */
const TROUBLE = /^(crashed|exited|timeout|limit: |protocol: )/;

/**
 * Logs a host's life to a pino-compatible logger: worker starts (debug), retirements (info),
 * exits (info, warn when a call's trouble ended the worker), settled calls (debug). Plugin
 * output goes to it from the workers' output (see worker-launch). A logger that throws is
 * reported once as a warning.
 */
export function logTo(host: Host, logger: Logger): void {
  const log = contained((level: keyof Logger, fields: object, message: string) => logger[level](fields, message), 'logger');
  host.on('worker-start', (event) => log('debug', { workerPid: event.pid, startMs: event.startMs }, 'airlock worker started'));
  host.on('worker-retire', (event) => log('info', { workerPid: event.pid, reason: event.reason }, 'airlock worker retires'));
  host.on('worker-exit', (event) =>
    log(TROUBLE.test(event.reason) ? 'warn' : 'info', { workerPid: event.pid, reason: event.reason, exitCode: event.exitCode, signal: event.signal }, 'airlock worker exited'),
  );
  // Listening to calls has them measured (reads of /proc): not for a logger that drops debug lines.
  const debugging = typeof (logger as { isLevelEnabled?: unknown }).isLevelEnabled !== 'function' || (logger as unknown as { isLevelEnabled(level: string): boolean }).isLevelEnabled('debug');
  if (!debugging) return;
  host.on('call', (event) => {
    const { output: _output, ...fields } = event;
    log('debug', fields, `airlock call ${event.outcome}`);
  });
}
