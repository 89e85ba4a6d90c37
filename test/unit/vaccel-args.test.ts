import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  ERRNO_NAMES,
  VACCEL_TYPES,
  VaccelArgumentError,
  checkVaccelArguments,
  decodeVaccelWrite,
  encodeVaccelRead,
  errnoName,
  parseVaccelCliRead,
  parseVaccelCliWrite,
  prepareVaccelArguments,
  vaccelType,
  vaccelTypeOfCode,
} from '@airlock/protocol';

function vaccelError(fn: () => unknown): VaccelArgumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VaccelArgumentError);
    expect(error).toBeInstanceOf(ArgumentError);
    return error as VaccelArgumentError;
  }
  throw new Error('expected a VaccelArgumentError');
}

const bytes = (...values: number[]) => new Uint8Array(values);
const le = (typed: ArrayBufferView) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);

describe('the vAccel type table', () => {
  it('numbers the types as vAccel does', () => {
    const expected = [
      'raw', 'int8', 'int8_array', 'int16', 'int16_array', 'int32', 'int32_array', 'int64', 'int64_array',
      'uint8', 'uint8_array', 'uint16', 'uint16_array', 'uint32', 'uint32_array', 'uint64', 'uint64_array',
      'float32', 'float32_array', 'float64', 'float64_array', 'bool', 'bool_array', 'char', 'char_array',
      'uchar', 'uchar_array', 'string', 'buffer', 'custom',
    ];
    expect(VACCEL_TYPES.map((t) => t.name)).toEqual(expected);
    VACCEL_TYPES.forEach((t, i) => expect(t.code).toBe(i));
    expect(vaccelType('int32')?.code).toBe(5);
    expect(vaccelType('string')?.code).toBe(27);
    expect(vaccelType('buffer')?.code).toBe(28);
    expect(vaccelType('custom')?.code).toBe(29);
    expect(vaccelType('INT32')).toBeUndefined();
    expect(vaccelTypeOfCode(16)?.name).toBe('uint64_array');
    expect(vaccelTypeOfCode(30)).toBeUndefined();
  });

  it('describes element sizes, signedness and kinds', () => {
    expect(vaccelType('int16_array')).toMatchObject({ kind: 'int', elementSize: 2, signed: true, array: true });
    expect(vaccelType('uint64')).toMatchObject({ kind: 'int', elementSize: 8, signed: false, array: false });
    expect(vaccelType('float32')).toMatchObject({ kind: 'float', elementSize: 4 });
    expect(vaccelType('bool_array')).toMatchObject({ kind: 'bool', elementSize: 1, array: true });
    expect(vaccelType('char')).toMatchObject({ kind: 'char', elementSize: 1, signed: true });
    expect(vaccelType('uchar_array')).toMatchObject({ kind: 'char', elementSize: 1, signed: false, array: true });
    expect(vaccelType('raw')?.kind).toBe('raw');
    expect(vaccelType('buffer')?.kind).toBe('buffer');
    expect(vaccelType('string')?.kind).toBe('string');
  });
});

describe('prepareVaccelArguments', () => {
  it('encodes the vAccel example', () => {
    const prepared = prepareVaccelArguments({ read: [{ int32: 10 }], write: [{ int32: null }] });
    expect(prepared.read).toHaveLength(1);
    expect(prepared.read[0]!.type.code).toBe(5);
    expect(prepared.read[0]!.bytes).toEqual(le(new Int32Array([10])));
    expect(prepared.write).toEqual([{ index: 0, type: vaccelType('int32'), count: null, size: 4, typeId: 0, argtype: undefined }]);
  });

  it('takes custom arguments with their typeId, and v0.7 argtype tags on any argument', () => {
    const serialized = le(new Uint32Array([3, 1, 2, 3]));
    const prepared = prepareVaccelArguments({ read: [{ custom: serialized, typeId: 100 }, { raw: bytes(2), argtype: 42 }], write: [{ custom: 16, typeId: 100 }] });
    expect(prepared.read[0]).toMatchObject({ type: vaccelType('custom'), typeId: 100, argtype: undefined });
    expect(prepared.read[0]!.bytes).toEqual(serialized);
    expect(prepared.read[1]).toMatchObject({ type: vaccelType('raw'), typeId: 0, argtype: 42 });
    expect(prepared.write).toEqual([{ index: 0, type: vaccelType('custom'), count: 16, size: 16, typeId: 100, argtype: undefined }]);
    expect(decodeVaccelWrite(vaccelType('custom')!, 16, serialized)).toEqual(serialized);
  });

  it('names what is wrong with a custom argument or a tag', () => {
    const read = vaccelError(() => prepareVaccelArguments({ read: [{ custom: bytes(4) }] }));
    expect(read.message).toBe('read[0] (custom) needs the custom type\'s id: { custom: bytes, typeId: 100 }');
    expect(read).toMatchObject({ list: 'read', index: 0, type: 'custom', position: 0 });
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1 }], write: [{ custom: 8 }] })).message).toBe(
      'write[0] (custom) needs the custom type\'s id: { custom: n, typeId: 100 }',
    );
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ custom: bytes(4), typeId: -1 }] })).message).toBe(
      'read[0] (custom) typeId expects an integer from 0 to 4294967295, got -1 (number)',
    );
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1, typeId: 100 }] })).message).toBe(
      'read[0] (int32) takes no typeId: only custom arguments have one (got typeId 100 (number))',
    );
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ int32: null, argtype: 'x' }] })).message).toBe(
      'write[0] (int32) argtype expects an integer from 0 to 4294967295, got "x" (string)',
    );
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ custom: [1, 2], typeId: 100 }] })).message).toMatch(/^read\[0\] \(custom\) expects a Uint8Array of the serialized value/);
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ custom: null, typeId: 100 }] })).message).toMatch(/needs its size in bytes/);
  });

  it('encodes every scalar family in native byte order', () => {
    const { read } = prepareVaccelArguments({
      read: [
        { int8: -1 }, { int16: -2 }, { int32: 2147483647 }, { int64: -(2n ** 63n) }, { int64: 5 },
        { uint8: 255 }, { uint16: 65535 }, { uint32: 4294967295 }, { uint64: 2n ** 64n - 1n },
        { float32: 1.5 }, { float64: -0.25 }, { bool: true }, { bool: 0 }, { char: -128 }, { char: 200 }, { uchar: 255 },
      ],
    });
    expect(read.map((r) => Array.from(r.bytes))).toEqual([
      [255], Array.from(le(new Int16Array([-2]))), Array.from(le(new Int32Array([2147483647]))),
      Array.from(le(new BigInt64Array([-(2n ** 63n)]))), Array.from(le(new BigInt64Array([5n]))),
      [255], [255, 255], [255, 255, 255, 255], [255, 255, 255, 255, 255, 255, 255, 255],
      Array.from(le(new Float32Array([1.5]))), Array.from(le(new Float64Array([-0.25]))), [1], [0], [128], [200], [255],
    ]);
  });

  it('encodes arrays from plain arrays and typed arrays', () => {
    const { read } = prepareVaccelArguments({
      read: [
        { int32_array: [1, -1] }, { int32_array: new Int32Array([1, -1]) }, { int32_array: new Uint8Array([1, 2]) },
        { uint64_array: [1n, 2] }, { float64_array: new Float32Array([0.5]) }, { bool_array: [true, false, 1] },
        { int16_array: [] },
      ],
    });
    expect(read[0]!.bytes).toEqual(le(new Int32Array([1, -1])));
    expect(read[1]!.bytes).toEqual(le(new Int32Array([1, -1])));
    expect(read[2]!.bytes).toEqual(le(new Int32Array([1, 2])));
    expect(read[3]!.bytes).toEqual(le(new BigUint64Array([1n, 2n])));
    expect(read[4]!.bytes).toEqual(le(new Float64Array([0.5])));
    expect(read[5]!.bytes).toEqual(bytes(1, 0, 1));
    expect(read[6]!.bytes.byteLength).toBe(0);
  });

  it('encodes strings NUL-terminated and bytes as given', () => {
    const { read } = prepareVaccelArguments({ read: [{ string: 'hé' }, { string: '' }, { raw: bytes(1, 2, 3) }, { buffer: Buffer.from('ab') }] });
    expect(read[0]!.bytes).toEqual(bytes(0x68, 0xc3, 0xa9, 0));
    expect(read[1]!.bytes).toEqual(bytes(0));
    expect(read[2]!.bytes).toEqual(bytes(1, 2, 3));
    expect(read[3]!.bytes).toEqual(bytes(97, 98));
  });

  it('sizes write buffers by type and count', () => {
    const { write } = prepareVaccelArguments({
      write: [{ int64: null }, { int16_array: 3 }, { string: 64 }, { raw: 10 }, { buffer: 0 }, { bool: null }, { float32: 2 }, { uchar: undefined }],
    });
    expect(write.map((w) => [w.type.name, w.count, w.size])).toEqual([
      ['int64', null, 8], ['int16_array', 3, 6], ['string', 64, 64], ['raw', 10, 10], ['buffer', 0, 0],
      ['bool', null, 1], ['float32', 2, 8], ['uchar', null, 1],
    ]);
  });

  it('accepts missing lists and nothing at all', () => {
    expect(prepareVaccelArguments({})).toEqual({ read: [], write: [] });
    expect(prepareVaccelArguments(undefined)).toEqual({ read: [], write: [] });
    expect(prepareVaccelArguments({ write: [{ int32: null }] }).read).toEqual([]);
  });

  it('names the argument, the type and the value in errors', () => {
    let error = vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1 }, { int8: 300 }] }));
    expect(error.message).toBe('read[1] (int8) expects an integer from -128 to 127, got 300 (number)');
    expect([error.list, error.index, error.type, error.position]).toEqual(['read', 1, 'int8', 1]);
    error = vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1 }], write: [{ int32: null }, { int32: -1 }] }));
    expect(error.message).toMatch(/^write\[1\] \(int32\) takes null for one value or an element count/);
    expect(error.message).toMatch(/got -1 \(number\)$/);
    expect([error.list, error.index, error.position]).toEqual(['write', 1, 2]);
    error = vaccelError(() => prepareVaccelArguments({ read: [{ uint16_array: [1, 2, 70000] }] }));
    expect(error.message).toBe('read[0] (uint16_array) element 2 expects an integer from 0 to 65535, got 70000 (number)');
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ string: 5 }] })).message).toBe('read[0] (string) expects a string without NUL characters, got 5 (number)');
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ raw: [1, 2] }] })).message).toBe('read[0] (raw) expects a Uint8Array, got an Array');
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int32_array: 5 }] })).message).toMatch(/expects an array or typed array of integer/);
  });

  it('rejects 64-bit values as inexact numbers, out-of-range bigints and wrong kinds', () => {
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int64: 2 ** 60 }] })).message).toMatch(/pass a bigint/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ uint64: 2n ** 64n }] })).message).toMatch(/got 18446744073709551616n \(bigint\)/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ uint64: -1n }] })).index).toBe(0);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1.5 }] })).message).toMatch(/got 1.5 \(number\)/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ float32: '1' }] })).message).toMatch(/\(float32\) expects a number/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ bool: 'yes' }] })).message).toMatch(/\(bool\) expects a boolean/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ string: 'a\0b' }] })).message).toMatch(/NUL/);
  });

  it('rejects malformed shapes', () => {
    expect(vaccelError(() => prepareVaccelArguments([1])).message).toMatch(/\{ read: \[\.\.\.\], write: \[\.\.\.\] \}/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [], extra: 1 })).message).toMatch(/unknown key extra/);
    expect(vaccelError(() => prepareVaccelArguments({ read: { int32: 1 } })).message).toMatch(/read arguments must be an array/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [5] })).message).toMatch(/^read\[0\] must be an object/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int32: 1, int8: 2 }] })).message).toMatch(/exactly one key/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{}] })).message).toMatch(/got none/);
    expect(vaccelError(() => prepareVaccelArguments({ read: [{ int33: 1 }] })).message).toMatch(/unknown vAccel type "int33" \(one of raw, int8/);
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ Float64: null }] })).message).toMatch(/lower case: float64/);
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ string: null }] })).message).toMatch(/needs its size in bytes/);
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ raw: 1.5 }] })).message).toMatch(/size in bytes/);
    expect(vaccelError(() => prepareVaccelArguments({ write: [{ int64_array: 2 ** 30 }] })).message).toMatch(/limited to 4294967295 bytes/);
    expect(() => checkVaccelArguments({ read: [{ int32: 'x' }] })).toThrow(VaccelArgumentError);
  });
});

describe('encodeVaccelRead / decodeVaccelWrite', () => {
  it('round-trips every numeric family', () => {
    const cases: Array<[string, unknown]> = [
      ['int8', -5], ['int16', -300], ['int32', -70000], ['int64', -(2n ** 63n)], ['uint8', 255], ['uint16', 65535],
      ['uint32', 4294967295], ['uint64', 2n ** 64n - 1n], ['float32', 0.5], ['float64', 1e300], ['bool', true], ['char', -1], ['uchar', 200],
    ];
    for (const [name, value] of cases) {
      const type = vaccelType(name)!;
      expect(decodeVaccelWrite(type, null, encodeVaccelRead(type, value, name))).toEqual(value);
    }
  });

  it('decodes 64-bit values as bigints, arrays as plain arrays', () => {
    expect(decodeVaccelWrite(vaccelType('int64')!, null, le(new BigInt64Array([5n])))).toBe(5n);
    expect(decodeVaccelWrite(vaccelType('int32_array')!, 2, le(new Int32Array([1, -2])))).toEqual([1, -2]);
    expect(decodeVaccelWrite(vaccelType('int32')!, 2, le(new Int32Array([1, -2])))).toEqual([1, -2]);
    expect(decodeVaccelWrite(vaccelType('uint64_array')!, 1, le(new BigUint64Array([2n ** 64n - 1n])))).toEqual([2n ** 64n - 1n]);
    expect(decodeVaccelWrite(vaccelType('bool_array')!, 3, bytes(0, 1, 2))).toEqual([false, true, true]);
    expect(decodeVaccelWrite(vaccelType('char')!, null, bytes(200))).toBe(-56);
    expect(decodeVaccelWrite(vaccelType('float32_array')!, 0, bytes())).toEqual([]);
  });

  it('decodes strings to the first NUL and bytes as a copy', () => {
    expect(decodeVaccelWrite(vaccelType('string')!, 8, bytes(0x68, 0xc3, 0xa9, 0, 0x78, 0, 0, 0))).toBe('hé');
    expect(decodeVaccelWrite(vaccelType('string')!, 2, bytes(0x61, 0x62))).toBe('ab');
    expect(decodeVaccelWrite(vaccelType('string')!, 0, bytes())).toBe('');
    const source = bytes(1, 2, 3);
    const decoded = decodeVaccelWrite(vaccelType('raw')!, 3, source) as Uint8Array;
    expect(decoded).toEqual(bytes(1, 2, 3));
    source[0] = 9;
    expect(decoded[0]).toBe(1);
    expect(decodeVaccelWrite(vaccelType('buffer')!, 3, source)).toBeInstanceOf(Uint8Array);
  });
});

describe('CLI parsing', () => {
  it('parses custom:ID:BYTES, custom:ID:N and @file bytes', () => {
    expect(parseVaccelCliRead('custom:100:0200000007000000')).toEqual({ custom: new Uint8Array([2, 0, 0, 0, 7, 0, 0, 0]), typeId: 100 });
    expect(parseVaccelCliRead('custom:0x64:base64:AQIDBA==')).toEqual({ custom: new Uint8Array([1, 2, 3, 4]), typeId: 100 });
    const files: string[] = [];
    const reader = (path: string) => {
      files.push(path);
      return new Uint8Array([9, 8]);
    };
    expect(parseVaccelCliRead('custom:100:@in.bin', 0, reader)).toEqual({ custom: new Uint8Array([9, 8]), typeId: 100 });
    expect(parseVaccelCliRead('raw:@dir/raw.bin', 0, reader)).toEqual({ raw: new Uint8Array([9, 8]) });
    expect(files).toEqual(['in.bin', 'dir/raw.bin']);
    expect(parseVaccelCliWrite('custom:100:12')).toEqual({ custom: 12, typeId: 100 });
  });

  it('parses --read TYPE:VALUE', () => {
    expect(parseVaccelCliRead('int32:10')).toEqual({ int32: 10 });
    expect(parseVaccelCliRead('int64:-9223372036854775808')).toEqual({ int64: -(2n ** 63n) });
    expect(parseVaccelCliRead('uint64:18446744073709551615')).toEqual({ uint64: 2n ** 64n - 1n });
    expect(parseVaccelCliRead('uint8:0xff')).toEqual({ uint8: 255 });
    expect(parseVaccelCliRead('float32:nan').float32).toBeNaN();
    expect(parseVaccelCliRead('float64:-inf')).toEqual({ float64: -Infinity });
    expect(parseVaccelCliRead('bool:true')).toEqual({ bool: true });
    expect(parseVaccelCliRead('bool:0')).toEqual({ bool: false });
    expect(parseVaccelCliRead('int32_array:1, 2,-3')).toEqual({ int32_array: [1, 2, -3] });
    expect(parseVaccelCliRead('int32_array:')).toEqual({ int32_array: [] });
    expect(parseVaccelCliRead('bool_array:true,0')).toEqual({ bool_array: [true, false] });
    expect(parseVaccelCliRead('string:hello: world')).toEqual({ string: 'hello: world' });
    expect(parseVaccelCliRead('string:')).toEqual({ string: '' });
    expect(parseVaccelCliRead('raw:deadbeef')).toEqual({ raw: bytes(0xde, 0xad, 0xbe, 0xef) });
    expect(parseVaccelCliRead('raw:0x0102')).toEqual({ raw: bytes(1, 2) });
    expect(parseVaccelCliRead('buffer:base64:AQID')).toEqual({ buffer: bytes(1, 2, 3) });
    expect(parseVaccelCliRead('raw:text:hi')).toEqual({ raw: bytes(104, 105) });
    expect(parseVaccelCliRead('raw:')).toEqual({ raw: bytes() });
    expect(parseVaccelCliRead('INT32:1')).toEqual({ int32: 1 });
  });

  it('feeds what it parses back into the API form', () => {
    const args = { read: [parseVaccelCliRead('int32:10'), parseVaccelCliRead('string:x')], write: [parseVaccelCliWrite('int32'), parseVaccelCliWrite('string:8')] };
    expect(() => prepareVaccelArguments(args)).not.toThrow();
  });

  it('rejects bad --read values with the text in the message', () => {
    expect(() => parseVaccelCliRead('int8:200')).toThrow(/--read "int8:200": cannot read "200" as an integer from -128 to 127/);
    expect(() => parseVaccelCliRead('int32')).toThrow(/give a value: int32:VALUE/);
    expect(() => parseVaccelCliRead('nope:1')).toThrow(/unknown vAccel type "nope"/);
    expect(() => parseVaccelCliRead('int32_array:1,x')).toThrow(/cannot read "x"/);
    expect(() => parseVaccelCliRead('bool:yes')).toThrow(/true, false, 1 or 0/);
    expect(() => parseVaccelCliRead('raw:abc')).toThrow(/hex digits/);
    expect(() => parseVaccelCliRead('custom:00')).toThrow(/--read "custom:00": give the bytes after the type id: custom:ID:BYTES/);
    expect(() => parseVaccelCliRead('custom:x:00')).toThrow(/a custom argument names its type id first: custom:ID:BYTES/);
    expect(() => parseVaccelCliRead('custom:100:zz')).toThrow(/hex digits/);
    expect(() => parseVaccelCliRead('raw:@/some/file')).toThrow(/@file values are read by the command line only/);
    expect(() => parseVaccelCliRead('raw:@/no/such/file', 0, () => {
      throw new Error('ENOENT: no such file');
    })).toThrow('--read "raw:@/no/such/file": cannot read "/no/such/file": ENOENT: no such file');
    expect(() => parseVaccelCliWrite('custom:100')).toThrow(/needs its size in bytes/);
    expect(() => parseVaccelCliWrite('custom:abc:4')).toThrow(/custom:ID:N/);
    expect(vaccelError(() => parseVaccelCliRead('int32:x', 3)).position).toBe(3);
  });

  it('parses --write TYPE[:count]', () => {
    expect(parseVaccelCliWrite('int32')).toEqual({ int32: null });
    expect(parseVaccelCliWrite('float64_array:4')).toEqual({ float64_array: 4 });
    expect(parseVaccelCliWrite('string:64')).toEqual({ string: 64 });
    expect(parseVaccelCliWrite('raw:0')).toEqual({ raw: 0 });
    expect(() => parseVaccelCliWrite('string')).toThrow(/needs its size in bytes/);
    expect(() => parseVaccelCliWrite('int32:-1')).toThrow(/non-negative integer/);
    expect(() => parseVaccelCliWrite('int32:x')).toThrow(/non-negative integer/);
    expect(() => parseVaccelCliWrite('what')).toThrow(/unknown vAccel type/);
  });
});

describe('errno names', () => {
  it('names common Linux errnos', () => {
    expect(errnoName(22)).toBe('EINVAL');
    expect(errnoName(-22)).toBe('EINVAL');
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(12)).toBe('ENOMEM');
    expect(errnoName(40)).toBe('ELOOP');
    expect(errnoName(95)).toBe('ENOTSUP');
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(9999)).toBeUndefined();
    for (let n = 1; n <= 40; n += 1) expect(ERRNO_NAMES[n], `errno ${n}`).toMatch(/^E[A-Z0-9]+$/);
  });
});
