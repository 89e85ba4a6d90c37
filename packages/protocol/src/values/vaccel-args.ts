import { parseBooleanText, parseFloatText, parseIntegerText } from './arroyo-values.js';
import { ArgumentError, describeValue } from './c-signature.js';

/**
 * vAccel exec arguments: the type table of `vaccel_arg_type_t`, the checks of the API's
 * `{ read: [{ <type>: value }], write: [{ <type>: null | n }] }` form, the encoding of read
 * buffers and the decoding of write buffers (native byte order), the CLI's `--read TYPE:VALUE`
 * and `--write TYPE[:count]`, and errno names for non-zero statuses. No native code here.
 *
 * Besides its type key an argument may carry `typeId` (a `custom` argument's `custom_type_id`,
 * required for custom) and `argtype` (the free tag of the v0.7 layout, which vAccel's own tools
 * set to 0 or 42; by default airlock writes the type's number there).
 */

/** What a vAccel argument type carries. `char` is an 8-bit integer (C `char`/`unsigned char`). */
export type VaccelTypeKind = 'int' | 'float' | 'bool' | 'char' | 'string' | 'raw' | 'buffer' | 'custom';

/** One vAccel argument type. */
export interface VaccelType {
  /** Lower-case name used by the API and CLI: `int32`, `float64_array`, `string`, `raw` … */
  readonly name: string;
  /** Its number in `vaccel_arg_type_t` (the `type` / `argtype` field). */
  readonly code: number;
  readonly kind: VaccelTypeKind;
  /** Whether it is an array of elements (`*_array`). */
  readonly array: boolean;
  /** Bytes per element (1 for string, raw, buffer, custom). */
  readonly elementSize: number;
  /** Whether integer elements are signed (`int*`, `char`). */
  readonly signed: boolean;
}

const T = (name: string, code: number, kind: VaccelTypeKind, elementSize: number, signed: boolean, array: boolean): VaccelType =>
  Object.freeze({ name, code, kind, array, elementSize, signed });

function scalarAndArray(name: string, code: number, kind: VaccelTypeKind, size: number, signed: boolean): VaccelType[] {
  return [T(name, code, kind, size, signed, false), T(`${name}_array`, code + 1, kind, size, signed, true)];
}

/** Every vAccel argument type, in the order of their numbers (RAW 0 … CUSTOM 29). */
export const VACCEL_TYPES: readonly VaccelType[] = Object.freeze([
  T('raw', 0, 'raw', 1, false, false),
  ...scalarAndArray('int8', 1, 'int', 1, true),
  ...scalarAndArray('int16', 3, 'int', 2, true),
  ...scalarAndArray('int32', 5, 'int', 4, true),
  ...scalarAndArray('int64', 7, 'int', 8, true),
  ...scalarAndArray('uint8', 9, 'int', 1, false),
  ...scalarAndArray('uint16', 11, 'int', 2, false),
  ...scalarAndArray('uint32', 13, 'int', 4, false),
  ...scalarAndArray('uint64', 15, 'int', 8, false),
  ...scalarAndArray('float32', 17, 'float', 4, true),
  ...scalarAndArray('float64', 19, 'float', 8, true),
  ...scalarAndArray('bool', 21, 'bool', 1, false),
  ...scalarAndArray('char', 23, 'char', 1, true),
  ...scalarAndArray('uchar', 25, 'char', 1, false),
  T('string', 27, 'string', 1, false, false),
  T('buffer', 28, 'buffer', 1, false, false),
  T('custom', 29, 'custom', 1, false, false),
]);

const BY_NAME: ReadonlyMap<string, VaccelType> = new Map(VACCEL_TYPES.map((t) => [t.name, t]));

/** The vAccel type of a lower-case name (`int32`, `uint8_array`, `string` …), or undefined. */
export function vaccelType(name: string): VaccelType | undefined {
  return BY_NAME.get(name);
}

/** The vAccel type of a `vaccel_arg_type_t` number, or undefined. */
export function vaccelTypeOfCode(code: number): VaccelType | undefined {
  return Number.isInteger(code) ? VACCEL_TYPES[code] : undefined;
}

/** The largest argument airlock passes: `size` is a uint32_t in the v0.7 layout. */
export const VACCEL_MAX_ARG_BYTES = 0xffff_ffff;

/** What an argument says beside its type: a custom type's id, a v0.7 tag. */
export interface VaccelArgumentTags {
  /** `custom_type_id` (main layout) of a custom argument; 0 for every other type. */
  readonly typeId: number;
  /** The v0.7 layout's `argtype` when the caller set it (else the type's number is written). */
  readonly argtype: number | undefined;
}

/** A read argument, checked and encoded: the bytes its `buf` points to and its `size`. */
export interface VaccelReadArgument extends VaccelArgumentTags {
  readonly index: number;
  readonly type: VaccelType;
  readonly bytes: Uint8Array;
}

/** A write argument, checked: the buffer to allocate (zeroed) and how to decode it afterwards. */
export interface VaccelWriteArgument extends VaccelArgumentTags {
  readonly index: number;
  readonly type: VaccelType;
  /** null: one scalar, decoded as a scalar; n: n elements (n bytes for string/raw/buffer). */
  readonly count: number | null;
  /** The buffer's size in bytes. */
  readonly size: number;
}

/** A checked vAccel call. */
export interface VaccelArguments {
  readonly read: readonly VaccelReadArgument[];
  readonly write: readonly VaccelWriteArgument[];
}

/**
 * An argument that does not fit: names the list (`read`/`write`), the index in it and the type.
 * `position` counts read arguments first, then write arguments (0-based).
 */
export class VaccelArgumentError extends ArgumentError {
  override name = 'VaccelArgumentError';
  constructor(
    message: string,
    position: number,
    readonly list: 'read' | 'write' | null,
    readonly index: number | null,
    readonly type: string | null = null,
  ) {
    super(message, position);
  }
}

const INTEGER_RANGES: Record<string, { min: bigint; max: bigint }> = {};
function integerRange(type: VaccelType): { min: bigint; max: bigint } {
  const key = `${type.elementSize}${type.signed ? 's' : 'u'}${type.kind}`;
  let range = INTEGER_RANGES[key];
  if (range === undefined) {
    const bits = BigInt(type.elementSize * 8);
    // A char may be given as any byte value: C's char is signed on x86-64 and unsigned on arm64.
    range =
      type.kind === 'char' && type.signed
        ? { min: -128n, max: 255n }
        : type.signed
          ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
          : { min: 0n, max: (1n << bits) - 1n };
    INTEGER_RANGES[key] = range;
  }
  return range;
}

/** What one element of a type accepts, in words. */
function expectedElement(type: VaccelType): string {
  switch (type.kind) {
    case 'bool':
      return 'a boolean';
    case 'float':
      return 'a number';
    case 'int':
    case 'char': {
      const { min, max } = integerRange(type);
      return `an integer from ${min} to ${max}${type.elementSize === 8 ? ' (a bigint beyond 2^53)' : ''}`;
    }
    default:
      return 'a value';
  }
}

/** What a read argument of a type accepts, in words. */
export function describeVaccelRead(type: VaccelType): string {
  switch (type.kind) {
    case 'string':
      return 'a string without NUL characters';
    case 'raw':
    case 'buffer':
      return 'a Uint8Array';
    case 'custom':
      return 'a Uint8Array of the serialized value (with its typeId beside it)';
    default:
      return type.array ? `an array or typed array of ${expectedElement(type).replace(/^an? /, '')}s` : expectedElement(type);
  }
}

const TYPED: Record<string, new (buffer: ArrayBuffer) => { [i: number]: number | bigint; length: number }> = {
  '1s': Int8Array,
  '1u': Uint8Array,
  '2s': Int16Array,
  '2u': Uint16Array,
  '4s': Int32Array,
  '4u': Uint32Array,
  '8s': BigInt64Array,
  '8u': BigUint64Array,
  '4f': Float32Array,
  '8f': Float64Array,
};

function typedArrayFor(type: VaccelType): new (buffer: ArrayBuffer) => { [i: number]: number | bigint; length: number } {
  const key = type.kind === 'float' ? `${type.elementSize}f` : `${type.elementSize}${type.signed ? 's' : 'u'}`;
  return TYPED[type.kind === 'bool' ? '1u' : key]!;
}

const EXACT_TYPED: Record<string, string> = {
  int8: 'Int8Array',
  int16: 'Int16Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  uint8: 'Uint8Array',
  uint16: 'Uint16Array',
  uint32: 'Uint32Array',
  uint64: 'BigUint64Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
  char: 'Int8Array',
  uchar: 'Uint8Array',
};

/** Checks one element and returns what to store (a bigint for 64-bit integers, 0/1 for bools). */
function checkElement(type: VaccelType, value: unknown, fail: (extra?: string) => never): number | bigint {
  switch (type.kind) {
    case 'bool':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 0 || value === 1) return value;
      return fail();
    case 'float':
      if (typeof value === 'number') return value;
      return fail();
    default: {
      let big: bigint;
      if (typeof value === 'bigint') big = value;
      else if (typeof value === 'number' && Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) return fail(', which is past 2^53 and no longer exact: pass a bigint');
        big = BigInt(value);
      } else return fail();
      const { min, max } = integerRange(type);
      if (big < min || big > max) return fail();
      if (type.elementSize === 8) return big;
      // Store chars given as 128..255 through their signed byte.
      const n = Number(big);
      return type.kind === 'char' && type.signed && n > 127 ? n - 256 : n;
    }
  }
}

function isTypedArray(value: unknown): value is ArrayLike<number | bigint> & ArrayBufferView {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** Copies bytes into a fresh Uint8Array of their own (no shared or pooled memory). */
function copyBytes(view: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(view.byteLength);
  out.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/**
 * Checks one read value against its type and encodes the bytes its buffer holds, in native
 * byte order: scalars and arrays element by element, strings as UTF-8 with a terminating NUL
 * (counted in the size), raw/buffer as given. `label` starts the error message.
 */
export function encodeVaccelRead(type: VaccelType, value: unknown, label: string, position = 0, list: 'read' | 'write' | null = 'read', index: number | null = null): Uint8Array {
  const fail = (extra = ''): never => {
    throw new VaccelArgumentError(`${label} expects ${describeVaccelRead(type)}, got ${describeValue(value)}${extra}`, position, list, index, type.name);
  };
  switch (type.kind) {
    case 'string': {
      if (typeof value !== 'string') return fail();
      if (value.includes('\0')) return fail(', which contains a NUL character (pass such bytes as raw)');
      const encoded = utf8Encoder.encode(value);
      const bytes = new Uint8Array(encoded.length + 1);
      bytes.set(encoded);
      return checkSize(bytes, label, position, list, index, type);
    }
    case 'raw':
    case 'buffer':
    case 'custom':
      if (!(value instanceof Uint8Array) || value instanceof Uint8ClampedArray) return fail();
      return checkSize(copyBytes(value), label, position, list, index, type);
    default:
      break;
  }
  let elements: ArrayLike<unknown>;
  if (!type.array) elements = [value];
  else if (Array.isArray(value)) elements = value;
  else if (isTypedArray(value)) {
    if (value.constructor.name === EXACT_TYPED[type.name.replace(/_array$/, '')]) {
      return checkSize(copyBytes(value), label, position, list, index, type);
    }
    elements = value;
  } else return fail();
  const byteLength = elements.length * type.elementSize;
  if (byteLength > VACCEL_MAX_ARG_BYTES) {
    throw new VaccelArgumentError(`${label} is ${byteLength} bytes, more than the ${VACCEL_MAX_ARG_BYTES} a vAccel argument can carry`, position, list, index, type.name);
  }
  const buffer = new ArrayBuffer(byteLength);
  const typed = new (typedArrayFor(type))(buffer);
  for (let i = 0; i < elements.length; i += 1) {
    const element = elements[i];
    typed[i] = checkElement(type, element, (extra = '') => {
      const where = type.array ? `${label} element ${i}` : label;
      throw new VaccelArgumentError(`${where} expects ${expectedElement(type)}, got ${describeValue(element)}${extra}`, position, list, index, type.name);
    });
  }
  return new Uint8Array(buffer);
}

function checkSize(bytes: Uint8Array, label: string, position: number, list: 'read' | 'write' | null, index: number | null, type: VaccelType): Uint8Array {
  if (bytes.byteLength > VACCEL_MAX_ARG_BYTES) {
    throw new VaccelArgumentError(`${label} is ${bytes.byteLength} bytes, more than the ${VACCEL_MAX_ARG_BYTES} a vAccel argument can carry`, position, list, index, type.name);
  }
  return bytes;
}

/**
 * Decodes a write buffer after the call: integers and chars as numbers (bigints for 64-bit),
 * floats as numbers, bools as booleans; `count` null gives one scalar, a count gives a plain
 * array; strings up to their first NUL (UTF-8); raw/buffer as a Uint8Array copy.
 */
export function decodeVaccelWrite(type: VaccelType, count: number | null, bytes: Uint8Array): unknown {
  switch (type.kind) {
    case 'string': {
      const end = bytes.indexOf(0);
      return utf8Decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
    }
    case 'raw':
    case 'buffer':
    case 'custom':
      return copyBytes(bytes);
    default:
      break;
  }
  const typed = new (typedArrayFor(type))(copyBytes(bytes).buffer as ArrayBuffer);
  const elements: unknown[] = new Array(Math.floor(bytes.byteLength / type.elementSize));
  for (let i = 0; i < elements.length; i += 1) {
    const raw = typed[i]!;
    elements[i] = type.kind === 'bool' ? raw !== 0 : raw;
  }
  return count === null ? elements[0] : elements;
}

/** Checks a write argument's count and returns its buffer size in bytes. */
export function vaccelWriteSize(type: VaccelType, count: unknown, label: string, position = 0, index: number | null = null): number {
  const fail = (why: string): never => {
    throw new VaccelArgumentError(`${label} ${why}, got ${describeValue(count)}`, position, 'write', index, type.name);
  };
  const bytesOnly = type.kind === 'string' || type.kind === 'raw' || type.kind === 'buffer' || type.kind === 'custom';
  if (count === null || count === undefined) {
    if (bytesOnly) return fail(`needs its size in bytes ({ ${type.name}: n })`);
    return type.elementSize;
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    return fail(bytesOnly ? 'takes its size in bytes (a non-negative integer)' : 'takes null for one value or an element count (a non-negative integer)');
  }
  const size = count * type.elementSize;
  if (size > VACCEL_MAX_ARG_BYTES) fail(`is limited to ${VACCEL_MAX_ARG_BYTES} bytes`);
  return size;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const TYPE_LIST = VACCEL_TYPES.map((t) => t.name).join(', ');

/** Keys an argument may carry beside its type key. */
const TAG_KEYS: ReadonlySet<string> = new Set(['typeId', 'argtype']);

/** A uint32 tag (`typeId`, `argtype`), or a thrown error naming it. */
function tagValue(value: unknown, key: string, label: string, position: number, list: 'read' | 'write', index: number, type: VaccelType): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff) return value;
  throw new VaccelArgumentError(`${label} ${key} expects an integer from 0 to 4294967295, got ${describeValue(value)}`, position, list, index, type.name);
}

/** Reads the `{ <type>: value }` key of one argument, and its `typeId` and `argtype` tags. */
function argumentEntry(entry: unknown, list: 'read' | 'write', index: number, position: number): [VaccelType, unknown, VaccelArgumentTags] {
  const label = `${list}[${index}]`;
  const example = list === 'read' ? '{ int32: 10 }' : '{ int32: null }';
  if (!isPlainObject(entry)) {
    throw new VaccelArgumentError(`${label} must be an object with one key naming its vAccel type, such as ${example}, got ${describeValue(entry)}`, position, list, index);
  }
  const keys = Object.keys(entry).filter((key) => !TAG_KEYS.has(key));
  if (keys.length !== 1) {
    throw new VaccelArgumentError(
      `${label} must have exactly one key naming its vAccel type, such as ${example}, got ${keys.length === 0 ? 'none' : `keys ${keys.join(', ')}`}`,
      position,
      list,
      index,
    );
  }
  const name = keys[0]!;
  const type = vaccelType(name);
  if (type === undefined) {
    const lower = vaccelType(name.toLowerCase());
    const hint = lower !== undefined ? ` (type names are lower case: ${lower.name})` : ` (one of ${TYPE_LIST})`;
    throw new VaccelArgumentError(`${label} has unknown vAccel type ${JSON.stringify(name)}${hint}`, position, list, index);
  }
  const typed = `${label} (${type.name})`;
  let typeId = 0;
  if (type.kind === 'custom') {
    if (entry.typeId === undefined) {
      const shape = list === 'read' ? '{ custom: bytes, typeId: 100 }' : '{ custom: n, typeId: 100 }';
      throw new VaccelArgumentError(`${typed} needs the custom type's id: ${shape}`, position, list, index, type.name);
    }
    typeId = tagValue(entry.typeId, 'typeId', typed, position, list, index, type);
  } else if (entry.typeId !== undefined) {
    throw new VaccelArgumentError(`${typed} takes no typeId: only custom arguments have one (got typeId ${describeValue(entry.typeId)})`, position, list, index, type.name);
  }
  const argtype = entry.argtype === undefined ? undefined : tagValue(entry.argtype, 'argtype', typed, position, list, index, type);
  return [type, entry[name], { typeId, argtype }];
}

/**
 * Checks the API's `{ read: [{ <type>: value }], write: [{ <type>: null | n }] }` form and
 * encodes the read buffers. Either list may be left out (no arguments). Throws
 * VaccelArgumentError naming the argument (`read[0] (int32) …`), the type and the value.
 */
export function prepareVaccelArguments(args: unknown): VaccelArguments {
  if (args === undefined || args === null) return { read: [], write: [] };
  if (!isPlainObject(args)) {
    throw new VaccelArgumentError(`vAccel arguments are { read: [...], write: [...] }, got ${describeValue(args)}`, 0, null, null);
  }
  const extra = Object.keys(args).filter((k) => k !== 'read' && k !== 'write');
  if (extra.length > 0) {
    throw new VaccelArgumentError(`vAccel arguments are { read: [...], write: [...] }; unknown key${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`, 0, null, null);
  }
  const readList = args.read ?? [];
  const writeList = args.write ?? [];
  for (const [list, value] of [['read', readList], ['write', writeList]] as const) {
    if (!Array.isArray(value)) {
      throw new VaccelArgumentError(`vAccel ${list} arguments must be an array, got ${describeValue(value)}`, list === 'read' ? 0 : (Array.isArray(readList) ? readList.length : 0), list, null);
    }
  }
  const reads = readList as unknown[];
  const writes = writeList as unknown[];
  const read = reads.map((entry, index): VaccelReadArgument => {
    const [type, value, tags] = argumentEntry(entry, 'read', index, index);
    const bytes = encodeVaccelRead(type, value, `read[${index}] (${type.name})`, index, 'read', index);
    return { index, type, bytes, ...tags };
  });
  const write = writes.map((entry, index): VaccelWriteArgument => {
    const position = reads.length + index;
    const [type, count, tags] = argumentEntry(entry, 'write', index, position);
    const size = vaccelWriteSize(type, count, `write[${index}] (${type.name})`, position, index);
    return { index, type, count: count === undefined ? null : (count as number | null), size, ...tags };
  });
  return { read, write };
}

/** Whether a value has the shape only vAccel arguments have: an object whose keys are `read` and/or `write`. */
export function isVaccelArgumentsShape(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key === 'read' || key === 'write');
}

/** Checks vAccel arguments without keeping the encoding (throws as prepareVaccelArguments does). */
export function checkVaccelArguments(args: unknown): void {
  prepareVaccelArguments(args);
}

function splitTypeValue(text: string, what: string, position: number): [VaccelType, string | undefined] {
  const colon = text.indexOf(':');
  const name = (colon === -1 ? text : text.slice(0, colon)).trim();
  const rest = colon === -1 ? undefined : text.slice(colon + 1);
  const type = vaccelType(name.toLowerCase());
  if (type === undefined) {
    throw new VaccelArgumentError(`${what} ${JSON.stringify(text)}: unknown vAccel type ${JSON.stringify(name)} (one of ${TYPE_LIST})`, position, null, null);
  }
  return [type, rest];
}

function parseBytesText(text: string): Uint8Array | undefined {
  if (text.startsWith('text:')) return utf8Encoder.encode(text.slice(5));
  if (text.startsWith('base64:')) {
    const b64 = text.slice(7).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) return undefined;
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  const hex = text.replace(/^(hex:)?(0x)?/i, '').trim();
  if (!/^([0-9a-f]{2})*$/i.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function parseElementText(type: VaccelType, text: string): unknown {
  switch (type.kind) {
    case 'bool':
      return parseBooleanText(text);
    case 'float':
      return parseFloatText(text);
    default: {
      const { min, max } = integerRange(type);
      return parseIntegerText(text, min, max);
    }
  }
}

/** Reads the file of an `@file` byte value (the CLI passes one; the protocol reads no files itself). */
export type CliFileReader = (path: string) => Uint8Array;

/** Splits `custom:ID:REST` after its type: the id (a uint32) and what follows it. */
function splitCustomId(rest: string | undefined, fail: (why: string) => never, shape: string): [number, string | undefined] {
  const colon = rest === undefined ? -1 : rest.indexOf(':');
  const idText = rest === undefined ? '' : colon === -1 ? rest : rest.slice(0, colon);
  const id = parseIntegerText(idText, 0n, 0xffff_ffffn);
  if (typeof id !== 'number') return fail(`a custom argument names its type id first: ${shape}`);
  return [id, colon === -1 ? undefined : rest!.slice(colon + 1)];
}

/**
 * Parses the CLI's `--read TYPE:VALUE` into the API form `{ <type>: value }`. Scalars: an
 * integer (decimal or 0x hex; a bigint beyond 2^53), a float (also nan/inf), a bool
 * (true/false/1/0). Arrays: comma-separated elements (`int32_array:1,2,3`; empty for none).
 * `string:` everything after the first colon. `raw:`/`buffer:` hex digits (optionally `0x`),
 * `base64:<data>`, `text:<utf-8>` or `@file` (read by `readFile`). `custom:ID:BYTES` the same
 * bytes with the custom type's id first (`custom:100:0200000001000000…`).
 */
export function parseVaccelCliRead(text: string, position = 0, readFile?: CliFileReader): Record<string, unknown> {
  const [type, rest] = splitTypeValue(text, '--read', position);
  const fail = (why: string): never => {
    throw new VaccelArgumentError(`--read ${JSON.stringify(text)}: ${why}`, position, 'read', null, type.name);
  };
  if (rest === undefined) return fail(`give a value: ${type.kind === 'custom' ? 'custom:ID:BYTES' : `${type.name}:VALUE`}`);
  const bytesOf = (value: string): Uint8Array => {
    if (value.startsWith('@')) {
      if (readFile === undefined) return fail('@file values are read by the command line only');
      try {
        return readFile(value.slice(1));
      } catch (error) {
        return fail(`cannot read ${JSON.stringify(value.slice(1))}: ${(error as Error).message}`);
      }
    }
    const bytes = parseBytesText(value);
    if (bytes === undefined) return fail('bytes are hex digits (optionally 0x…), base64:<data>, text:<utf-8> or @file');
    return bytes;
  };
  switch (type.kind) {
    case 'custom': {
      const [typeId, value] = splitCustomId(rest, fail, 'custom:ID:BYTES, e.g. custom:100:0100000007000000');
      if (value === undefined) return fail('give the bytes after the type id: custom:ID:BYTES');
      return { custom: bytesOf(value), typeId };
    }
    case 'string':
      return { [type.name]: rest };
    case 'raw':
    case 'buffer':
      return { [type.name]: bytesOf(rest) };
    default:
      break;
  }
  const parts = type.array ? (rest.trim() === '' ? [] : rest.split(',')) : [rest];
  const values = parts.map((part) => {
    const value = parseElementText(type, part);
    if (value === undefined) fail(`cannot read ${JSON.stringify(part.trim())} as ${expectedElement(type)}${type.kind === 'bool' ? ' (true, false, 1 or 0)' : ''}`);
    return value;
  });
  return { [type.name]: type.array ? values : values[0] };
}

/**
 * Parses the CLI's `--write TYPE[:count]` into `{ <type>: null }` (one scalar) or
 * `{ <type>: n }` (n elements; n bytes for string/raw/buffer, which need a count), and
 * `--write custom:ID:N` into `{ custom: N, typeId: ID }`.
 */
export function parseVaccelCliWrite(text: string, position = 0): Record<string, number | null> {
  let [type, rest] = splitTypeValue(text, '--write', position);
  let tags: { typeId?: number } = {};
  if (type.kind === 'custom') {
    const fail = (why: string): never => {
      throw new VaccelArgumentError(`--write ${JSON.stringify(text)}: ${why}`, position, 'write', null, type.name);
    };
    const [typeId, size] = splitCustomId(rest, fail, 'custom:ID:N, e.g. custom:100:16');
    tags = { typeId };
    rest = size;
  }
  let count: number | null = null;
  if (rest !== undefined) {
    const parsed = parseIntegerText(rest, 0n, BigInt(VACCEL_MAX_ARG_BYTES));
    if (typeof parsed !== 'number') {
      throw new VaccelArgumentError(`--write ${JSON.stringify(text)}: the count after the colon must be a non-negative integer`, position, 'write', null, type.name);
    }
    count = parsed;
  }
  vaccelWriteSize(type, count, `--write ${type.name}`, position, null);
  return { [type.name]: count, ...tags };
}

/**
 * Linux errno names by number, for explaining a vAccel status (vAccel's error codes are errno
 * values). ENOTSUP and EOPNOTSUPP are both 95 on Linux; the table says ENOTSUP.
 */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EDEADLK',
  36: 'ENAMETOOLONG',
  37: 'ENOLCK',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
  42: 'ENOMSG',
  43: 'EIDRM',
  61: 'ENODATA',
  62: 'ETIME',
  71: 'EPROTO',
  74: 'EBADMSG',
  75: 'EOVERFLOW',
  84: 'EILSEQ',
  95: 'ENOTSUP',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
  122: 'EDQUOT',
  125: 'ECANCELED',
});

/**
 * The errno name of a status (`22` → `EINVAL`); a negative status is read as `-errno`
 * (`-22` → `EINVAL`). Undefined when the number is not a known errno.
 */
export function errnoName(status: number): string | undefined {
  if (!Number.isInteger(status) || status === 0) return undefined;
  return ERRNO_NAMES[Math.abs(status)];
}
