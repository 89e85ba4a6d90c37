import { EXIT_CODES, OpaquePointer } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../errors/airlock-error.js';
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

/** JSON with exact numbers: bigints as number literals, bytes as base64, NaN/±Infinity as strings. */
export function toJson(value: unknown): string {
  const marks = new Map<string, string>();
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') {
      const mark = `\u0000big${marks.size}\u0000`;
      marks.set(mark, item.toString());
      return mark;
    }
    if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
    if (item instanceof Uint8Array) return { base64: Buffer.from(item).toString('base64') };
    if (ArrayBuffer.isView(item)) return Array.from(item as unknown as ArrayLike<number>);
    if (item instanceof OpaquePointer) return item.toString();
    return item;
  });
  return text.replace(/"\\u0000big\d+\\u0000"/g, (quoted) => marks.get(JSON.parse(quoted) as string) ?? quoted);
}

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
