import { describe, expect, it } from 'vitest';
import { OpaquePointer, parseResultJson, toResultJson } from '@airlock/host';

describe('the JSON of plugin-run --json and harness reports', () => {
  it('tags what JSON would change and nothing else', () => {
    const value = {
      small: 42n,
      big: 2n ** 63n + 1n,
      negative: -(2n ** 60n),
      nan: Number.NaN,
      negativeZero: -0,
      infinity: Number.POSITIVE_INFINITY,
      bytes: new Uint8Array([0, 255, 16]),
      buffer: Buffer.from([1, 2]),
      floats: new Float64Array([1.5, Number.NaN]),
      longs: new BigUint64Array([1n, 2n ** 64n - 1n]),
      pointer: new OpaquePointer(0xdeadbeefn, 77),
      text: 'NaN',
      plain: [1, 'two', null, true],
    };
    const text = toResultJson(value);
    expect(JSON.parse(text)).toEqual({
      small: 42,
      big: { $bigint: '9223372036854775809' },
      negative: { $bigint: '-1152921504606846976' },
      nan: { $float: 'NaN' },
      negativeZero: { $float: '-0' },
      infinity: { $float: 'Infinity' },
      bytes: { base64: 'AP8Q' },
      buffer: { base64: 'AQI=' },
      floats: [1.5, { $float: 'NaN' }],
      longs: [1, { $bigint: '18446744073709551615' }],
      pointer: { $pointer: '0xdeadbeef', workerPid: 77 },
      text: 'NaN',
      plain: [1, 'two', null, true],
    });
    expect(parseResultJson(text)).toEqual({
      small: 42,
      big: 2n ** 63n + 1n,
      negative: -(2n ** 60n),
      nan: Number.NaN,
      negativeZero: -0,
      infinity: Number.POSITIVE_INFINITY,
      bytes: new Uint8Array([0, 255, 16]),
      buffer: new Uint8Array([1, 2]),
      floats: [1.5, Number.NaN],
      longs: [1, 2n ** 64n - 1n],
      pointer: { address: 0xdeadbeefn, workerPid: 77 },
      text: 'NaN',
      plain: [1, 'two', null, true],
    });
    expect(Object.is((parseResultJson(text) as { negativeZero: number }).negativeZero, -0)).toBe(true);
    expect(toResultJson(-0)).toBe('{"$float":"-0"}');
    expect(toResultJson(5n)).toBe('5');
  });

  it('leaves objects that merely look tagged (other keys beside the tag) alone when reading', () => {
    expect(parseResultJson('{"$bigint":"1","other":2}')).toEqual({ $bigint: '1', other: 2 });
    expect(parseResultJson('{"$float":"nope"}')).toEqual({ $float: 'nope' });
  });
});
