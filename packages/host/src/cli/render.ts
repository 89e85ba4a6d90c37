import { EXIT_CODES, OpaquePointer } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../errors/airlock-error.js';
import { toResultJson } from '../output/result-json.js';
import type { LogEntry } from '../options/host-options.js';
import type { LogLevel } from '@airlock/protocol';

const LEVELS: LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Whether a message of `level` shows under the chosen `threshold`. */
export function shows(level: LogLevel, threshold: LogLevel): boolean {
  return LEVELS.indexOf(level) <= LEVELS.indexOf(threshold);
}

/** A log sink writing plugin output to stderr, tagged with its stream, when the level allows it. */
export function stderrLog(threshold: LogLevel): (entry: LogEntry) => void {
  return (entry) => {
    if (shows('info', threshold)) process.stderr.write(`[${entry.stream}] ${entry.line}\n`);
  };
}

/**
 * Plugin output of several workers on stderr, each line with its stream and worker, from log
 * level info; `beforeLine` clears a progress or status line first.
 */
export function workersLog(threshold: LogLevel, beforeLine?: () => void): (entry: LogEntry) => void {
  return (entry) => {
    if (!shows('info', threshold)) return;
    beforeLine?.();
    process.stderr.write(`[${entry.stream} ${entry.workerPid}] ${entry.line}\n`);
  };
}

/** The CLI's JSON (see output/result-json.ts for its tagged forms). */
export const toJson = toResultJson;

/** The result as the plain CLI prints it: scalars bare, strings raw, the rest as JSON. */
export function renderPlain(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof OpaquePointer) return value.toString();
  return toJson(value);
}

/** Prints a success and returns the exit status. */
export function printSuccess(value: unknown, json: boolean): number {
  if (json) process.stdout.write(`${toJson({ ok: true, result: value ?? null })}\n`);
  else {
    const text = renderPlain(value);
    if (text !== undefined) process.stdout.write(`${text}\n`);
  }
  return EXIT_CODES.OK;
}

/** Prints a failure (JSON on stdout with --json, a message on stderr otherwise) and returns the exit status. */
export function printFailure(error: unknown, json: boolean): number {
  const failure = isAirlockError(error) ? error : new AirlockError('PROTOCOL_ERROR', `Internal error: ${(error as Error)?.stack ?? String(error)}`);
  if (json) process.stdout.write(`${toJson({ ok: false, error: failure.toJSON() })}\n`);
  else {
    const extra = [failure.signal && `signal ${failure.signal}`, failure.exitCode !== undefined && `exit status ${failure.exitCode}`, failure.limit && `limit ${failure.limit}`]
      .filter(Boolean)
      .join(', ');
    process.stderr.write(`plugin-run: ${failure.code}${extra ? ` (${extra})` : ''}: ${failure.message}\n`);
    if (failure.output && failure.output.length > 0) process.stderr.write(`plugin output (last lines):\n${failure.output.map((l) => `  ${l}`).join('\n')}\n`);
  }
  return EXIT_CODES[failure.code];
}
