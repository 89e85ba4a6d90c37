import { describe, expect, it } from 'vitest';
import { OpaquePointer, decodeValue, encodeValue } from '@airlock/protocol';

const roundTrip = (value: unknown) => decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));

describe('wire values', () => {
  it('keeps plain JSON as it is', () => {
    const value = { a: [1, 'two', true, null], b: { c: 3.5 } };
    expect(encodeValue(value)).toEqual(value);
    expect(roundTrip(value)).toEqual(value);
  });

  it('keeps 64-bit integers beyond 2^53 exact', () => {
    expect(roundTrip(2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(roundTrip(-(2n ** 63n))).toBe(-(2n ** 63n));
  });

  it('keeps NaN, infinities and -0', () => {
    expect(roundTrip(Number.NaN)).toBeNaN();
    expect(roundTrip(Infinity)).toBe(Infinity);
    expect(roundTrip(-Infinity)).toBe(-Infinity);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('keeps bytes that are not UTF-8, and typed arrays with their kind', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0xfe]);
    expect(roundTrip(bytes)).toEqual(bytes);
    const floats = new Float32Array([1.5, -2]);
    expect(roundTrip(floats)).toEqual(floats);
    const wide = new BigUint64Array([2n ** 64n - 1n]);
    expect(roundTrip(wide)).toEqual(wide);
    expect(roundTrip(new Uint8Array(new ArrayBuffer(8), 3, 2))).toEqual(new Uint8Array(2));
  });

  it('keeps pointers with their worker, and objects that own a $t key', () => {
    const pointer = roundTrip(new OpaquePointer(0x7fff0000n, 42)) as OpaquePointer;
    expect(pointer).toBeInstanceOf(OpaquePointer);
    expect(pointer.address).toBe(0x7fff0000n);
    expect(pointer.workerPid).toBe(42);
    expect(roundTrip({ $t: 'bigint', v: 'not a tag' })).toEqual({ $t: 'bigint', v: 'not a tag' });
  });

  it('rejects what cannot cross and unknown tags, naming them', () => {
    expect(() => encodeValue(() => 1)).toThrow(/function/);
    expect(() => decodeValue({ $t: 'mystery', v: 1 })).toThrow(/mystery/);
  });

  it('decodes an array of plain values to itself, and one holding a tagged value to a new array', () => {
    const plain = [1, 'a', true, null, 2.5];
    expect(decodeValue(plain)).toBe(plain);
    const tagged = [1, { $t: 'bigint', v: '9007199254740993' }, [2, { $t: 'float', v: 'NaN' }]];
    const decoded = decodeValue(tagged) as unknown[];
    expect(decoded).not.toBe(tagged);
    expect(decoded).toEqual([1, 9007199254740993n, [2, Number.NaN]]);
    expect(tagged[1]).toEqual({ $t: 'bigint', v: '9007199254740993' });
  });
});
