// Judging a call against what its case expects, and describing results and failures in words.
import { type ErrorCode, OpaquePointer } from '@airlock/protocol';
import type { Expectation } from './spec.js';

/** What a call did: its result, or the error it failed with (as AirlockError.toJSON gives it). */
export type CallSettlement = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string; signal?: string; exitCode?: number; limit?: string; output?: string[]; [field: string]: unknown } };

/** Why a settlement does not meet an expectation, or undefined when it does. */
export function judge(expect: Expectation, actual: CallSettlement): string | undefined {
  if ('ok' in expect) return actual.ok ? undefined : `expected success, got ${describeSettlement(actual)}`;
  if ('result' in expect) {
    if (!actual.ok) return `expected result ${describeResult(expect.result)}, got ${describeSettlement(actual)}`;
    return sameValue(actual.result, expect.result) ? undefined : `expected result ${describeResult(expect.result)}, got ${describeResult(actual.result)}`;
  }
  const wanted = describeExpectedError(expect);
  if (actual.ok) return `expected ${wanted}, got result ${describeResult(actual.result)}`;
  const { error } = actual;
  const matches =
    error.code === expect.code &&
    (expect.signal === undefined || error.signal === expect.signal) &&
    (expect.limit === undefined || error.limit === expect.limit) &&
    (expect.exitCode === undefined || error.exitCode === expect.exitCode) &&
    (expect.message === undefined || error.message.includes(expect.message));
  return matches ? undefined : `expected ${wanted}, got ${describeSettlement(actual)}`;
}

function describeExpectedError(expect: Extract<Expectation, { code: ErrorCode }>): string {
  const extra = [expect.signal, expect.limit && `limit ${expect.limit}`, expect.exitCode !== undefined && `exit ${expect.exitCode}`, expect.message !== undefined && `message containing ${JSON.stringify(expect.message)}`].filter(Boolean);
  return `${expect.code}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

/** `CRASHED SIGSEGV`, `LIMIT_EXCEEDED memory`, `PLUGIN_ERROR: message`, or the result. */
export function describeSettlement(actual: CallSettlement, withMessage = true): string {
  if (actual.ok) return describeResult(actual.result);
  const { error } = actual;
  const extra = [error.signal, error.limit, error.exitCode !== undefined && `exit ${error.exitCode}`].filter(Boolean).join(' ');
  return `${error.code}${extra ? ` ${extra}` : ''}${withMessage ? `: ${error.message}` : ''}`;
}

/** A result as JSON-like text: strings quoted, bigints as literals, bytes as hex, cut at 80 characters. */
export function describeResult(value: unknown): string {
  let text: string;
  if (value === undefined || value === null) text = 'null';
  else if (typeof value === 'bigint') text = value.toString();
  else if (value instanceof Uint8Array) text = `hex:${Buffer.from(value).toString('hex')}`;
  else if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) text = Object.is(value, -0) ? '-0' : String(value);
  else {
    text =
      JSON.stringify(value, (_key, item: unknown) => {
        if (typeof item === 'bigint') return `${item}n`;
        if (item instanceof Uint8Array) return `hex:${Buffer.from(item).toString('hex')}`;
        if (ArrayBuffer.isView(item)) return Array.from(item as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' ? `${n}n` : n));
        if (item instanceof OpaquePointer) return item.toString();
        if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
        return item;
      }) ?? String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Deep equality for results: numbers and bigints compare by value (`5` equals `5n`), NaN equals
 * NaN, null equals undefined, typed arrays compare element by element with arrays, objects
 * by the same keys.
 */
export function sameValue(actual: unknown, expected: unknown): boolean {
  if (actual === undefined) actual = null;
  if (expected === undefined) expected = null;
  if (isNumeric(actual) && isNumeric(expected)) return sameNumber(actual, expected);
  if (isListLike(actual) && isListLike(expected)) {
    if (actual.length !== expected.length) return false;
    for (let i = 0; i < actual.length; i += 1) if (!sameValue(actual[i], expected[i])) return false;
    return true;
  }
  if (actual instanceof OpaquePointer || expected instanceof OpaquePointer) return String(actual) === String(expected);
  if (isPlainRecord(actual) && isPlainRecord(expected)) {
    const keys = Object.keys(actual);
    if (keys.length !== Object.keys(expected).length) return false;
    return keys.every((key) => Object.hasOwn(expected, key) && sameValue(actual[key], expected[key]));
  }
  return actual === expected;
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function sameNumber(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  const [n, big] = typeof a === 'bigint' ? [b, a] : [a, b as bigint];
  if (typeof n === 'bigint') return n === big;
  return Number.isInteger(n) && BigInt(n) === big;
}

function isListLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}
