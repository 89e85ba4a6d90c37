import { type CPrototype, type CParameter, parsePrototype, PrototypeError } from './c-prototype.js';
import { type CType, type ScalarType, formatCType, integerRange } from './c-types.js';
import { OpaquePointer } from './opaque-pointer.js';

/** How one argument the caller passes is carried into the native call. */
export type ArgumentSlot =
  | { kind: 'scalar'; type: ScalarType; name: string; ctype: string }
  /** `const char *` (or `char *` with no length after it): a string, bytes, or null. */
  | { kind: 'string'; name: string; ctype: string }
  /** `const T *p, size_t n`: an array or typed array; `n` is filled in from its length. */
  | { kind: 'array-in'; element: ScalarType; name: string; ctype: string }
  /** `T *p, size_t n`: the caller gives the element count (or initial contents); the filled array comes back in `out`. */
  | { kind: 'array-out'; element: ScalarType; name: string; ctype: string }
  /** Any other pointer: an OpaquePointer from an earlier call of the same worker, or null. */
  | { kind: 'pointer'; name: string; ctype: string };

/** What a call returns, by the prototype's return type. */
export type ReturnSlot =
  | { kind: 'void' }
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'string' }
  | { kind: 'pointer' };

/** A prototype turned into what the caller passes and what comes back. Built once per prototype. */
export interface CallSignature {
  prototype: CPrototype;
  /** The arguments the caller passes, in order (length parameters are not among them). */
  slots: ArgumentSlot[];
  /** For each native parameter: the index of the slot it comes from, and whether it is that slot's length. */
  native: Array<{ slot: number; length: boolean }>;
  returns: ReturnSlot;
  /** Whether the call resolves to `{ result, out }` rather than the bare result. */
  hasOutputs: boolean;
}

/** Thrown when an argument does not fit its parameter; names the position, the value and the type. */
export class ArgumentError extends Error {
  override name = 'ArgumentError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const LENGTH_TYPES = new Set(['size_t', 'ssize_t']);

function isScalar(type: CType | { kind: 'opaque' }): type is ScalarType {
  return type.kind === 'int' || type.kind === 'float' || type.kind === 'bool';
}

function isChar(type: CType | { kind: 'opaque' }): boolean {
  return type.kind === 'int' && type.bits === 8 && (type.name === 'char' || type.name === 'signed char' || type.name === 'unsigned char');
}

function isLength(parameter: CParameter | undefined): boolean {
  return parameter !== undefined && parameter.type.kind === 'int' && LENGTH_TYPES.has(parameter.type.name);
}

/** Builds the call signature of a prototype (parsed or as text). */
export function buildSignature(prototype: CPrototype | string): CallSignature {
  const parsed = typeof prototype === 'string' ? parsePrototype(prototype) : prototype;
  const slots: ArgumentSlot[] = [];
  const native: CallSignature['native'] = [];
  const params = parsed.parameters;
  for (let i = 0; i < params.length; i += 1) {
    const { name, type } = params[i]!;
    const ctype = formatCType(type);
    if (type.kind === 'void') throw new PrototypeError(`Parameter ${name} cannot be void`);
    if (type.kind !== 'pointer') {
      native.push({ slot: slots.length, length: false });
      slots.push({ kind: 'scalar', type, name, ctype });
      continue;
    }
    const pointee = type.to;
    const followedByLength = isLength(params[i + 1]);
    if (isScalar(pointee) && followedByLength) {
      const index = slots.length;
      native.push({ slot: index, length: false }, { slot: index, length: true });
      slots.push({ kind: type.const ? 'array-in' : 'array-out', element: pointee, name, ctype });
      i += 1;
      continue;
    }
    if (pointee.kind === 'void' && followedByLength) {
      const index = slots.length;
      const element = { kind: 'int', bits: 8, signed: false, name: 'uint8_t' } as const;
      native.push({ slot: index, length: false }, { slot: index, length: true });
      slots.push({ kind: type.const ? 'array-in' : 'array-out', element, name, ctype });
      i += 1;
      continue;
    }
    native.push({ slot: slots.length, length: false });
    slots.push(isChar(pointee) ? { kind: 'string', name, ctype } : { kind: 'pointer', name, ctype });
  }
  const returns = returnSlot(parsed.returns);
  return { prototype: parsed, slots, native, returns, hasOutputs: slots.some((s) => s.kind === 'array-out') };
}

function returnSlot(type: CType): ReturnSlot {
  if (type.kind === 'void') return { kind: 'void' };
  if (type.kind !== 'pointer') return { kind: 'scalar', type };
  return isChar(type.to) ? { kind: 'string' } : { kind: 'pointer' };
}

/** Describes a value and its type for an error message: `3.5 (number)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (typeof value === 'object') return withArticle((value.constructor?.name as string | undefined) ?? 'object');
  return `${String(value)} (${typeof value})`;
}

/** `an Array`, `a Uint8Array`: a type's name with its article. */
export function withArticle(name: string): string {
  return `${/^[AEIOUaeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** The allowed values of a scalar type, in words. */
export function expectedScalar(type: ScalarType): string {
  if (type.kind === 'bool') return 'a boolean';
  if (type.kind === 'float') return 'a number';
  const { min, max } = integerRange(type);
  return `an integer from ${min} to ${max}${type.bits === 64 ? ' (a bigint beyond 2^53)' : ''}`;
}

/**
 * Checks one scalar; returns the value to pass (numbers stay numbers, 64-bit may be bigint).
 * `label` names it in the error (a function: it is built only when there is an error).
 */
export function checkScalar(type: ScalarType, value: unknown, position: number, label: string | (() => string)): number | bigint | boolean {
  if (type.kind === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
  } else if (type.kind === 'float') {
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new ArgumentError(`${nameOf(label)} expects ${expectedScalar(type)}, got ${describeValue(value)}`, position);
    if (!Number.isSafeInteger(value)) {
      throw new ArgumentError(`${nameOf(label)} expects ${expectedScalar(type)}, got ${describeValue(value)}, which is past 2^53 and no longer exact: pass a bigint`, position);
    }
    // Every safe integer fits a signed 64-bit type; narrower ones compare as numbers (the hot path).
    if (numberFits(type, value)) return value;
  } else if (typeof value === 'bigint') {
    const { min, max } = integerRange(type);
    if (value >= min && value <= max) return value;
  }
  throw new ArgumentError(`${nameOf(label)} expects ${expectedScalar(type)}, got ${describeValue(value)}`, position);
}

/** Whether a number is a valid value of a scalar type as it is (false: checkScalar decides, and words the error). */
export function numberFits(type: ScalarType, value: number): boolean {
  if (type.kind === 'float') return true;
  if (type.kind === 'bool' || !Number.isSafeInteger(value)) return false;
  if (type.bits === 64) return type.signed || value >= 0;
  const half = HALF_RANGE[type.bits]!;
  return type.signed ? value >= -half && value < half : value >= 0 && value < 2 * half;
}

/** 2^(bits - 1) for the integer widths below 64, looked up: `2 ** n` of a variable n is a call of pow() on the hot path. */
const HALF_RANGE: Readonly<Record<number, number>> = { 8: 2 ** 7, 16: 2 ** 15, 32: 2 ** 31 };

function nameOf(label: string | (() => string)): string {
  return typeof label === 'string' ? label : label();
}

/** `argument 2 (b: int)` */
export function argumentLabel(slot: { name: string; ctype: string }, position: number): string {
  return `argument ${position + 1} (${slot.name}: ${slot.ctype})`;
}

/**
 * Checks the caller's arguments against a signature before anything runs; throws
 * ArgumentError naming the first that does not fit.
 */
export function checkArguments(signature: CallSignature, args: readonly unknown[]): void {
  const { slots } = signature;
  if (args.length !== slots.length) {
    const list = slots.map((s) => `${s.ctype} ${s.name}`).join(', ');
    throw new ArgumentError(
      `${signature.prototype.name} takes ${slots.length} argument${slots.length === 1 ? '' : 's'} (${list || 'none'}), got ${args.length}`,
      Math.min(args.length, slots.length),
    );
  }
  for (let i = 0; i < slots.length; i += 1) checkArgument(slots[i]!, args[i], i);
}

/**
 * Whether `args` are numbers that fit their scalar slots and that JSON carries as they are
 * (finite, not -0): their wire form is then a plain copy, made without encoding each. False
 * says nothing wrong: checkArguments and encodeValue take them the long way.
 */
export function plainNumberArguments(signature: CallSignature, args: readonly unknown[]): boolean {
  const { slots } = signature;
  if (args.length !== slots.length) return false;
  for (let i = 0; i < slots.length; i += 1) {
    const slot = slots[i]!;
    const value = args[i];
    if (slot.kind !== 'scalar' || typeof value !== 'number' || !numberFits(slot.type, value)) return false;
    if (slot.type.kind === 'float' && (!Number.isFinite(value) || Object.is(value, -0))) return false;
  }
  return true;
}

function checkArgument(slot: ArgumentSlot, value: unknown, position: number): void {
  // The hot path: a number that fits, checked without building anything.
  if (slot.kind === 'scalar' && typeof value === 'number' && numberFits(slot.type, value)) return;
  const label = () => argumentLabel(slot, position);
  switch (slot.kind) {
    case 'scalar':
      checkScalar(slot.type, value, position, label);
      return;
    case 'string':
      if (value === null || typeof value === 'string' || value instanceof Uint8Array || value instanceof OpaquePointer) return;
      throw new ArgumentError(`${label()} expects a string, a Uint8Array or null, got ${describeValue(value)}`, position);
    case 'pointer':
      if (value === null || value instanceof OpaquePointer) return;
      throw new ArgumentError(`${label()} expects a pointer returned by an earlier call (OpaquePointer) or null, got ${describeValue(value)}`, position);
    case 'array-in':
      if (value === null || ArrayBuffer.isView(value) || (slot.element.kind === 'int' && slot.element.bits === 8 && typeof value === 'string')) return;
      if (Array.isArray(value)) {
        value.forEach((item, index) => checkScalar(slot.element, item, position, () => `${label()} element ${index}`));
        return;
      }
      throw new ArgumentError(`${label()} expects an array or typed array of ${slot.element.kind === 'int' ? slot.element.name : slot.element.kind}, got ${describeValue(value)}`, position);
    case 'array-out':
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
      if (ArrayBuffer.isView(value) || Array.isArray(value)) return;
      throw new ArgumentError(`${label()} is an output buffer: pass its element count (a non-negative integer) or its initial contents, got ${describeValue(value)}`, position);
  }
}
