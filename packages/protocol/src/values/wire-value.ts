import { OpaquePointer } from './opaque-pointer.js';
import { BINARY_PART_MIN_BYTES, WireBytes } from './wire-bytes.js';

/**
 * Values that JSON cannot carry exactly travel as `{ "$t": tag, "v": payload }`:
 * 64-bit integers, NaN/±Infinity/-0, byte strings, typed arrays and native pointers.
 * Everything else is plain JSON. Objects that happen to own a `$t` key are wrapped so they
 * can never be mistaken for a tag. Byte strings of BINARY_PART_MIN_BYTES or more are WireBytes:
 * raw binary parts of the frame that carries them (see wire-bytes.ts).
 */
export type WireValue =
  | null
  | WireBytes
  | boolean
  | number
  | string
  | WireValue[]
  | { [key: string]: WireValue };

const TYPED_ARRAYS = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;

/**
 * Turns a value of the host API into its exact JSON form. Byte strings that travel as binary
 * parts are not copied: they are written from the caller's memory when the frame goes out.
 */
export function encodeValue(value: unknown): WireValue {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $t: 'float', v: floatName(value) };
    case 'string':
    case 'boolean':
      return value;
    case 'bigint':
      return { $t: 'bigint', v: value.toString() };
    case 'undefined':
      return null;
    case 'object':
      return encodeObject(value);
    default:
      throw new TypeError(`Cannot send a value of type ${typeof value} to a worker: ${String(value)}`);
  }
}

function encodeObject(value: object | null): WireValue {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value instanceof Uint8Array && value.constructor !== Uint8ClampedArray) {
    if (value.byteLength >= BINARY_PART_MIN_BYTES) return new WireBytes(value, undefined);
    return { $t: 'bytes', v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name as TypedArrayName;
    if (!(name in TYPED_ARRAYS)) throw new TypeError(`Cannot send a ${value.constructor.name} to a worker`);
    if (value.byteLength >= BINARY_PART_MIN_BYTES) return new WireBytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), name);
    return { $t: 'typed', k: name, v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (value instanceof OpaquePointer) return { $t: 'pointer', v: value.address.toString(16), w: value.workerPid };
  const out: Record<string, WireValue> = {};
  for (const [key, item] of Object.entries(value)) out[key] = encodeValue(item);
  return '$t' in out ? { $t: 'object', v: out } : out;
}

function floatName(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (Object.is(value, -0)) return '-0';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Turns the JSON form back into the value it stands for (inverse of encodeValue); an array of plain values is returned as it is. */
export function decodeValue(wire: unknown): unknown {
  if (typeof wire !== 'object' || wire === null) return wire;
  if (Array.isArray(wire)) {
    // An array of plain JSON values (the hot path's arguments) decodes to itself: wire values are
    // freshly parsed, nobody else holds them.
    for (let index = 0; index < wire.length; index += 1) {
      const item: unknown = wire[index];
      if (typeof item === 'object' && item !== null) return wire.map(decodeValue);
    }
    return wire;
  }
  const tagged = wire as { $t?: unknown; v?: unknown; k?: unknown; w?: unknown };
  switch (tagged.$t) {
    case undefined:
      break;
    case 'bigint':
      return BigInt(expectString(tagged.v, 'bigint'));
    case 'float':
      return parseFloatName(expectString(tagged.v, 'float'));
    case 'bytes':
      // A binary part of the frame (attachParts) is used as it is: no copy.
      if (tagged.v instanceof Uint8Array) return new Uint8Array(tagged.v.buffer, tagged.v.byteOffset, tagged.v.byteLength);
      return new Uint8Array(Buffer.from(expectString(tagged.v, 'bytes'), 'base64'));
    case 'typed':
      return decodeTypedArray(expectString(tagged.k, 'typed array kind'), tagged.v instanceof Uint8Array ? tagged.v : expectString(tagged.v, 'typed array'));
    case 'pointer':
      return new OpaquePointer(BigInt(`0x${expectString(tagged.v, 'pointer')}`), typeof tagged.w === 'number' ? tagged.w : 0);
    case 'object':
      return decodePlainObject(tagged.v);
    default:
      throw new TypeError(`Unknown value tag ${JSON.stringify(tagged.$t)}`);
  }
  return decodePlainObject(wire);
}

function decodePlainObject(wire: unknown): Record<string, unknown> {
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) {
    throw new TypeError(`Expected an object, got ${JSON.stringify(wire)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(wire)) out[key] = decodeValue(item);
  return out;
}

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`Malformed ${what} value: ${JSON.stringify(value)}`);
  return value;
}

function parseFloatName(name: string): number {
  switch (name) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.POSITIVE_INFINITY;
    case '-Infinity':
      return Number.NEGATIVE_INFINITY;
    case '-0':
      return -0;
    default:
      throw new TypeError(`Malformed float value: ${JSON.stringify(name)}`);
  }
}

function decodeTypedArray(kind: string, payload: string | Uint8Array): ArrayBufferView {
  const ctor = TYPED_ARRAYS[kind as TypedArrayName];
  if (ctor === undefined) throw new TypeError(`Unknown typed array kind ${JSON.stringify(kind)}`);
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'base64') : payload;
  if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
    throw new TypeError(`Malformed ${kind} value: ${bytes.byteLength} bytes is not a whole number of ${ctor.BYTES_PER_ELEMENT}-byte elements`);
  }
  // Copy into a fresh, aligned buffer: Buffer pools are not aligned for 8-byte elements.
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return new ctor(copy);
}
