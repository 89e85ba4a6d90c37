import { readFileSync } from 'node:fs';
import { type ArgumentSlot, type CallSignature, type ScalarType, ArgumentError, integerRange, argumentLabel } from '@airlock/protocol';

/** Parses one integer literal (decimal or 0x hex, optionally negative) exactly. */
function parseInteger(text: string): bigint | undefined {
  const match = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(text.trim());
  if (!match) return undefined;
  const magnitude = BigInt(match[2]!);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Parses a command-line word as a scalar of `type`: numbers stay exact (bigint beyond 2^53). */
export function parseScalarText(type: ScalarType, text: string, position: number, label: string): number | bigint | boolean {
  if (type.kind === 'bool') {
    const lowered = text.trim().toLowerCase();
    if (lowered === 'true' || lowered === '1') return true;
    if (lowered === 'false' || lowered === '0') return false;
    throw new ArgumentError(`${label} expects true or false, got ${JSON.stringify(text)}`, position);
  }
  if (type.kind === 'float') {
    const lowered = text.trim().toLowerCase();
    const special: Record<string, number> = { nan: Number.NaN, inf: Infinity, infinity: Infinity, '-inf': -Infinity, '-infinity': -Infinity };
    if (lowered in special) return special[lowered]!;
    const value = Number(text);
    if (text.trim() === '' || Number.isNaN(value)) throw new ArgumentError(`${label} expects a number, got ${JSON.stringify(text)}`, position);
    return value;
  }
  const value = parseInteger(text);
  const { min, max } = integerRange(type);
  if (value === undefined || value < min || value > max) {
    throw new ArgumentError(`${label} expects an integer from ${min} to ${max}, got ${JSON.stringify(text)}`, position);
  }
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** `@file` (`@-`: stdin), `hex:…`, or the text's UTF-8 bytes; a file that cannot be read is INVALID_ARGUMENT naming it. */
function parseBytes(text: string, position: number, label: string): Uint8Array {
  if (text.startsWith('@')) {
    const file = text.slice(1);
    if (file === '-' && process.stdin.isTTY) throw new ArgumentError(`${label}: @- reads stdin, which is a terminal here: pipe the bytes in, or give @FILE`, position);
    try {
      return new Uint8Array(readFileSync(file === '-' ? 0 : file));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ArgumentError(`${label}: cannot read ${file === '-' ? 'stdin (@-)' : JSON.stringify(file)} (${reason}); give @FILE, hex:… or the text itself`, position);
    }
  }
  if (text.startsWith('hex:')) return new Uint8Array(Buffer.from(text.slice(4), 'hex'));
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

function parseSlot(slot: ArgumentSlot, text: string, position: number): unknown {
  const label = argumentLabel(slot, position);
  switch (slot.kind) {
    case 'scalar':
      return parseScalarText(slot.type, text, position, label);
    case 'string':
      if (text === 'null' || text === 'NULL') return null;
      return text.startsWith('@') || text.startsWith('hex:') ? parseBytes(text, position, label) : text;
    case 'pointer':
      if (text === 'null' || text === 'NULL' || text === '0') return null;
      throw new ArgumentError(`${label} is a pointer: from the command line only null can be given, got ${JSON.stringify(text)}`, position);
    case 'array-in':
      if (slot.element.kind === 'int' && slot.element.bits === 8) return parseBytes(text, position, label);
      return text.trim() === '' ? [] : text.split(',').map((item, i) => parseScalarText(slot.element, item, position, `${label} element ${i}`));
    case 'array-out': {
      const count = parseInteger(text);
      if (count === undefined || count < 0n) throw new ArgumentError(`${label} is an output buffer: give its element count, got ${JSON.stringify(text)}`, position);
      return Number(count);
    }
  }
}

/**
 * Turns the command line's words into the arguments of a C call, following the prototype's
 * types: `'double cos(double)' 0` → `[0]`, 64-bit integers exact, byte buffers from text,
 * `hex:…` or `@file`, numeric arrays as comma-separated lists, output buffers as counts.
 */
export function parseCArguments(signature: CallSignature, words: string[]): unknown[] {
  const { slots } = signature;
  if (words.length !== slots.length) {
    const list = slots.map((s) => `${s.ctype} ${s.name}`).join(', ');
    throw new ArgumentError(`${signature.prototype.name} takes ${slots.length} argument${slots.length === 1 ? '' : 's'} (${list || 'none'}), got ${words.length}`, Math.min(words.length, slots.length));
  }
  return slots.map((slot, i) => parseSlot(slot, words[i]!, i));
}
