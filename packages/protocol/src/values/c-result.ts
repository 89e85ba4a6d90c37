import { type CallSignature, type ReturnSlot, describeValue, expectedScalar, numberFits } from './c-signature.js';
import { integerRange, type ScalarType } from './c-types.js';
import { OpaquePointer } from './opaque-pointer.js';

/** A worker's result that does not fit what the call declared (a broken or forged reply). */
export class ResultError extends Error {
  override name = 'ResultError';
}

/**
 * Checks a decoded C call result against its prototype before the caller sees it: the return
 * type, and for output buffers `{ result, out }` with one typed array of the right element type
 * and length per buffer. A worker's reply is tainted until this passes (plugin code shares the
 * worker's address space and can write on its channel).
 */
export function checkCResult(signature: CallSignature, args: readonly unknown[], value: unknown, workerPid: number): void {
  const fn = signature.prototype.name;
  if (!signature.hasOutputs) return checkReturn(signature.returns, value, fn, workerPid);
  if (typeof value !== 'object' || value === null || !('result' in value) || !('out' in value) || !Array.isArray((value as { out: unknown }).out)) {
    throw new ResultError(`${fn} has output buffers, so its result must be { result, out: [...] }, got ${describeValue(value)}`);
  }
  const { result, out } = value as { result: unknown; out: unknown[] };
  checkReturn(signature.returns, result, fn, workerPid);
  const outputs = signature.slots.map((slot, position) => ({ slot, position })).filter(({ slot }) => slot.kind === 'array-out');
  if (out.length !== outputs.length) throw new ResultError(`${fn} has ${outputs.length} output buffer(s), the reply has ${out.length}`);
  outputs.forEach(({ slot, position }, index) => {
    if (slot.kind !== 'array-out') return;
    const buffer = out[index];
    const expectedType = typedArrayName(slot.element);
    if (!ArrayBuffer.isView(buffer) || buffer.constructor.name !== expectedType) {
      throw new ResultError(`output buffer ${slot.name} of ${fn} must come back as a ${expectedType}, got ${describeValue(buffer)}`);
    }
    const expectedLength = requestedLength(args[position]);
    const length = (buffer as unknown as ArrayLike<unknown>).length;
    if (expectedLength !== undefined && length !== expectedLength) {
      throw new ResultError(`output buffer ${slot.name} of ${fn} has ${length} element(s), ${expectedLength} were asked for`);
    }
  });
}

function checkReturn(returns: ReturnSlot, value: unknown, fn: string, workerPid: number): void {
  switch (returns.kind) {
    case 'void':
      if (value === null || value === undefined) return;
      throw new ResultError(`${fn} returns void, the reply carries ${describeValue(value)}`);
    case 'string':
      if (value === null || typeof value === 'string' || value instanceof Uint8Array) return;
      throw new ResultError(`${fn} returns a C string, the reply carries ${describeValue(value)}`);
    case 'pointer':
      if (value === null || (value instanceof OpaquePointer && value.workerPid === workerPid)) return;
      throw new ResultError(`${fn} returns a pointer of worker ${workerPid}, the reply carries ${describeValue(value)}`);
    case 'scalar':
      if (fitsScalar(returns.type, value)) return;
      throw new ResultError(`${fn} returns ${expectedScalar(returns.type)}, the reply carries ${describeValue(value)}`);
  }
}

function fitsScalar(type: ScalarType, value: unknown): boolean {
  if (type.kind === 'bool') return typeof value === 'boolean';
  if (type.kind === 'float') return typeof value === 'number';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return false;
    // Narrower than 64 bits: compared as numbers (the hot path builds no bigint).
    if (type.bits < 64) return numberFits(type, value);
  } else if (typeof value !== 'bigint' || type.bits !== 64) {
    return false;
  }
  const { min, max } = integerRange(type);
  const big = BigInt(value);
  return big >= min && big <= max;
}

/** The typed array a C element type comes back as (the worker's arrayCtor). */
function typedArrayName(type: ScalarType): string {
  if (type.kind === 'bool') return 'Uint8Array';
  if (type.kind === 'float') return type.bits === 32 ? 'Float32Array' : 'Float64Array';
  const names = { 8: ['Int8Array', 'Uint8Array'], 16: ['Int16Array', 'Uint16Array'], 32: ['Int32Array', 'Uint32Array'], 64: ['BigInt64Array', 'BigUint64Array'] } as const;
  return names[type.bits][type.signed ? 0 : 1];
}

/** How many elements the caller asked an output buffer to hold (a count, or initial contents). */
function requestedLength(argument: unknown): number | undefined {
  if (typeof argument === 'number') return argument;
  if (typeof argument === 'string') return Buffer.byteLength(argument, 'utf8');
  if (Array.isArray(argument)) return argument.length;
  if (ArrayBuffer.isView(argument)) return (argument as unknown as ArrayLike<unknown>).length;
  return undefined;
}
