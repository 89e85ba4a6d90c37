import {
  ArgumentError,
  type ArgumentSlot,
  type CallSignature,
  type ScalarType,
  OpaquePointer,
  buildSignature,
  checkArguments,
  plainNumberArguments,
  PrototypeError,
} from '@airlock/protocol';
import koffi from 'koffi';
import { invalidArgument } from '../failure.js';
import { type LoadedLibrary, libraryFunction } from '../loader/library-cache.js';
import { nativeRead } from './native-memory.js';

type KoffiFunction = (...args: unknown[]) => unknown;

/** A prototype made ready to call: built once per (library, prototype). */
interface PreparedCall {
  signature: CallSignature;
  fn: KoffiFunction;
}

const signatures = new Map<string, CallSignature>();
const strlen = koffi.load('libc.so.6').func('size_t strlen(const void *s)') as KoffiFunction;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a prototype once per worker. */
function signatureOf(prototype: string): CallSignature {
  let signature = signatures.get(prototype);
  if (signature === undefined) {
    try {
      signature = buildSignature(prototype);
    } catch (error) {
      if (error instanceof PrototypeError) throw invalidArgument(error.message, { details: { prototype } });
      throw error;
    }
    signatures.set(prototype, signature);
  }
  return signature;
}

/** The koffi spelling of a scalar type. */
function koffiScalar(type: ScalarType): string {
  if (type.kind === 'bool') return 'bool';
  if (type.kind === 'float') return type.bits === 32 ? 'float' : 'double';
  return `${type.signed ? '' : 'u'}int${type.bits}_t`;
}

function prepare(library: LoadedLibrary, prototype: string): PreparedCall {
  return libraryFunction(library, prototype, (handle) => {
    const signature = signatureOf(prototype);
    const params = signature.native.map(({ slot, length }) => {
      if (length) return 'size_t';
      const s = signature.slots[slot]!;
      switch (s.kind) {
        case 'scalar':
          return koffiScalar(s.type);
        case 'string':
          return 'const char *';
        case 'pointer':
          return 'uintptr_t';
        case 'array-in':
        case 'array-out':
          return 'void *';
      }
    });
    const returns = signature.returns;
    const result = returns.kind === 'void' ? 'void' : returns.kind === 'scalar' ? koffiScalar(returns.type) : 'void *';
    const fn = handle.func(signature.prototype.name, result, params) as unknown as KoffiFunction;
    return { signature, fn };
  });
}

type TypedArrayCtor = { new (length: number): ArrayBufferView & ArrayLike<number | bigint>; from(values: ArrayLike<unknown>): ArrayBufferView & ArrayLike<number | bigint>; BYTES_PER_ELEMENT: number };

function arrayCtor(type: ScalarType): TypedArrayCtor {
  if (type.kind === 'bool') return Uint8Array as unknown as TypedArrayCtor;
  if (type.kind === 'float') return (type.bits === 32 ? Float32Array : Float64Array) as unknown as TypedArrayCtor;
  const table = {
    8: [Int8Array, Uint8Array],
    16: [Int16Array, Uint16Array],
    32: [Int32Array, Uint32Array],
    64: [BigInt64Array, BigUint64Array],
  } as const;
  return table[type.bits][type.signed ? 0 : 1] as unknown as TypedArrayCtor;
}

/** Copies the caller's array (or typed array, or string for bytes) into memory of the element type. */
function toElementArray(slot: ArgumentSlot & { element: ScalarType }, value: unknown): ArrayBufferView & ArrayLike<number | bigint> {
  const ctor = arrayCtor(slot.element);
  if (value instanceof (ctor as unknown as typeof Uint8Array)) return value as unknown as ArrayBufferView & ArrayLike<number>;
  if (typeof value === 'string') return new Uint8Array(Buffer.from(value, 'utf8'));
  const items = ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number | bigint>) : (value as unknown[]);
  const wide = slot.element.kind === 'int' && slot.element.bits === 64;
  const coerced = items.map((item) => (wide ? BigInt(item as number | bigint) : slot.element.kind === 'bool' ? Number(Boolean(item)) : Number(item)));
  return ctor.from(coerced);
}

/**
 * Calls an exported function described by a C prototype. Arguments are checked against the
 * prototype first; the result is a JS value (or `{ result, out }` when the prototype has
 * output buffers).
 */
export function callPrototype(library: LoadedLibrary, prototype: string, args: unknown, workerPid: number): unknown {
  return prototypeCaller(library, prototype, workerPid)(args);
}

/**
 * A prototype made ready to be called with many argument lists (a run of calls): the function
 * is bound once, and a prototype of plain numbers passes its arguments straight through.
 */
export function prototypeCaller(library: LoadedLibrary, prototype: string, workerPid: number): (args: unknown) => unknown {
  const { signature, fn } = prepare(library, prototype);
  const { slots, native, returns } = signature;
  const direct =
    !signature.hasOutputs &&
    native.length === slots.length &&
    slots.every((slot) => slot.kind === 'scalar' && slot.type.kind !== 'bool') &&
    (returns.kind === 'scalar' || returns.kind === 'void');
  const callDirect = direct ? directCall(fn, slots.length, returns.kind === 'void') : undefined;
  return (args) => {
    if (!Array.isArray(args)) throw invalidArgument(`Arguments of a C call must be an array, got ${typeof args}`);
    // The hot path: numbers that fit, passed as they are (checkArguments words what does not).
    if (callDirect !== undefined && plainNumberArguments(signature, args)) return callDirect(args);
    try {
      checkArguments(signature, args);
    } catch (error) {
      if (error instanceof ArgumentError) throw invalidArgument(error.message, { argument: error.position });
      throw error;
    }
    if (callDirect !== undefined) return callDirect(args);
    const prepared: unknown[] = new Array(slots.length);
    for (let i = 0; i < slots.length; i += 1) prepared[i] = prepareArgument(slots[i]!, args[i], i, workerPid);
    const nativeArgs: unknown[] = new Array(native.length);
    for (let i = 0; i < native.length; i += 1) {
      const { slot, length } = native[i]!;
      const value = prepared[slot];
      nativeArgs[i] = length ? (value === null ? 0 : (value as ArrayLike<unknown>).length) : value;
    }
    const raw = fn(...nativeArgs);
    const result = convertResult(signature, raw, workerPid);
    if (!signature.hasOutputs) return result;
    const out: unknown[] = [];
    slots.forEach((slot, i) => {
      if (slot.kind === 'array-out') out.push(prepared[i]);
    });
    return { result, out };
  };
}

/** Calls `fn` with an argument list as it is: by arity up to four (a spread call costs more than the call), spread beyond. */
function directCall(fn: (...args: unknown[]) => unknown, arity: number, isVoid: boolean): (args: unknown[]) => unknown {
  const call: (args: unknown[]) => unknown =
    arity === 0
      ? () => fn()
      : arity === 1
        ? (args) => fn(args[0])
        : arity === 2
          ? (args) => fn(args[0], args[1])
          : arity === 3
            ? (args) => fn(args[0], args[1], args[2])
            : arity === 4
              ? (args) => fn(args[0], args[1], args[2], args[3])
              : (args) => fn(...args);
  return isVoid ? (args) => (call(args), null) : call;
}

function prepareArgument(slot: ArgumentSlot, value: unknown, position: number, workerPid: number): unknown {
  switch (slot.kind) {
    case 'scalar':
      return slot.type.kind === 'bool' && typeof value === 'number' ? value === 1 : value;
    case 'string':
      if (value instanceof Uint8Array) {
        const terminated = new Uint8Array(value.length + 1);
        terminated.set(value);
        return terminated;
      }
      return value;
    case 'pointer': {
      if (value === null) return 0n;
      const pointer = value as OpaquePointer;
      if (pointer.workerPid !== 0 && pointer.workerPid !== workerPid) {
        throw invalidArgument(
          `argument ${position + 1} (${slot.name}) is a pointer from worker ${pointer.workerPid}, but this call runs in worker ${workerPid}: pointers only mean something in the process that made them (use a session to pin one worker)`,
          { argument: position },
        );
      }
      return pointer.address;
    }
    case 'array-in':
      return value === null ? null : toElementArray(slot, value);
    case 'array-out':
      return typeof value === 'number' ? new (arrayCtor(slot.element))(value) : toElementArray(slot, value);
  }
}

function convertResult(signature: CallSignature, raw: unknown, workerPid: number): unknown {
  const returns = signature.returns;
  switch (returns.kind) {
    case 'void':
      return null;
    case 'scalar':
      return raw;
    case 'pointer':
      return raw === null ? null : new OpaquePointer(koffi.address(raw), workerPid);
    case 'string':
      return copyCString(raw);
  }
}

/** Copies a NUL-terminated string out of native memory: a string if it is UTF-8, else its bytes. */
function copyCString(pointer: unknown): string | Uint8Array | null {
  if (pointer === null) return null;
  const length = Number(strlen(pointer) as number | bigint);
  // A copy through memcpy: koffi.view() keeps memory alive long after the call.
  const bytes = nativeRead(koffi.address(pointer), length);
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes;
  }
}
