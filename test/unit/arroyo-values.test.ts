import { describe, expect, it } from 'vitest';
import {
  ARROYO_TYPES,
  ArgumentError,
  arroyoTypeCode,
  arroyoTypeOf,
  checkArroyoArguments,
  parseArroyoCliArgument,
  parseFloatText,
  parseIntegerText,
} from '@airlock/protocol';

const repeat = { name: 'repeat', argTypes: ['String', 'Int'] as const };
const all = { name: 'fmt', argTypes: ['Bool', 'Int', 'UInt', 'Double', 'String'] as const };

function argumentError(fn: () => unknown): ArgumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ArgumentError);
    return error as ArgumentError;
  }
  throw new Error('expected an ArgumentError');
}

describe('Arroyo types', () => {
  it('numbers the types as the C enum does', () => {
    expect(ARROYO_TYPES).toEqual(['Bool', 'Int', 'UInt', 'Double', 'String']);
    expect(arroyoTypeCode('Bool')).toBe(0);
    expect(arroyoTypeCode('String')).toBe(4);
    expect(arroyoTypeOf(2)).toBe('UInt');
    expect(arroyoTypeOf(5)).toBeUndefined();
    expect(arroyoTypeOf(-1)).toBeUndefined();
    expect(arroyoTypeOf(1.5)).toBeUndefined();
  });
});

describe('checkArroyoArguments', () => {
  it('accepts values of every type, including full-range 64-bit integers', () => {
    expect(() => checkArroyoArguments(repeat, ['cool', 3])).not.toThrow();
    expect(() => checkArroyoArguments(all, [true, -(2n ** 63n), 2n ** 64n - 1n, Number.NaN, ''])).not.toThrow();
    expect(() => checkArroyoArguments(all, [false, 2n ** 63n - 1n, 0, -0, 'x'])).not.toThrow();
    expect(() => checkArroyoArguments(all, [false, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Infinity, 'é'])).not.toThrow();
    expect(() => checkArroyoArguments({ name: 'none', argTypes: [] }, [])).not.toThrow();
  });

  it('reports arity as expected vs got', () => {
    const error = argumentError(() => checkArroyoArguments(repeat, ['cool']));
    expect(error.message).toBe('repeat takes 2 arguments (String, Int), got 1');
    expect(error.position).toBe(1);
    expect(argumentError(() => checkArroyoArguments(repeat, ['a', 1, 2])).message).toBe('repeat takes 2 arguments (String, Int), got 3');
    expect(argumentError(() => checkArroyoArguments({ name: 'one', argTypes: ['Int'] }, [])).message).toBe('one takes 1 argument (Int), got 0');
    expect(argumentError(() => checkArroyoArguments({ name: 'none', argTypes: [] }, [1])).message).toBe('none takes 0 arguments (none), got 1');
  });

  it('names the position (1-based), the type and the bad value', () => {
    const error = argumentError(() => checkArroyoArguments(repeat, ['cool', '3']));
    expect(error.position).toBe(1);
    expect(error.message).toMatch(/^argument 2 of repeat \(Int\) expects an integer from -9223372036854775808 to 9223372036854775807/);
    expect(error.message).toMatch(/got "3" \(string\)$/);
    const first = argumentError(() => checkArroyoArguments(repeat, [42, 3]));
    expect(first.position).toBe(0);
    expect(first.message).toBe('argument 1 of repeat (String) expects a string without NUL characters, got 42 (number)');
  });

  it('range-checks Int and UInt', () => {
    expect(argumentError(() => checkArroyoArguments(all, [true, 2n ** 63n, 0, 0, ''])).position).toBe(1);
    expect(argumentError(() => checkArroyoArguments(all, [true, -(2n ** 63n) - 1n, 0, 0, ''])).position).toBe(1);
    expect(argumentError(() => checkArroyoArguments(all, [true, 0, -1, 0, ''])).message).toMatch(/argument 3 of fmt \(UInt\) expects an integer from 0 to 18446744073709551615.*got -1 \(number\)/);
    expect(argumentError(() => checkArroyoArguments(all, [true, 0, 2n ** 64n, 0, ''])).message).toMatch(/got 18446744073709551616n \(bigint\)/);
  });

  it('rejects inexact and non-integer numbers for integers', () => {
    expect(argumentError(() => checkArroyoArguments(all, [true, 2 ** 60, 0, 0, ''])).message).toMatch(/pass a bigint/);
    expect(argumentError(() => checkArroyoArguments(all, [true, 1.5, 0, 0, ''])).message).toMatch(/got 1.5 \(number\)$/);
    expect(argumentError(() => checkArroyoArguments(all, [true, Number.NaN, 0, 0, ''])).position).toBe(1);
  });

  it('is strict about Bool, Double and String', () => {
    expect(argumentError(() => checkArroyoArguments(all, [1, 0, 0, 0, ''])).message).toMatch(/argument 1 of fmt \(Bool\) expects a boolean, got 1 \(number\)/);
    expect(argumentError(() => checkArroyoArguments(all, [true, 0, 0, 1n, ''])).message).toMatch(/\(Double\) expects a number, got 1n \(bigint\)/);
    expect(argumentError(() => checkArroyoArguments(all, [true, 0, 0, 0, null])).message).toMatch(/\(String\) expects a string.*got null$/);
    expect(argumentError(() => checkArroyoArguments(all, [true, 0, 0, 0, 'a\0b'])).message).toMatch(/NUL character/);
  });

  it('rejects arguments that are not an array', () => {
    expect(argumentError(() => checkArroyoArguments(repeat, 'cool' as unknown as unknown[])).message).toMatch(/takes its arguments as an array/);
  });
});

describe('parseArroyoCliArgument', () => {
  it('parses integers to numbers when safe and bigints beyond', () => {
    expect(parseArroyoCliArgument('Int', '42')).toBe(42);
    expect(parseArroyoCliArgument('Int', '-42')).toBe(-42);
    expect(parseArroyoCliArgument('Int', '+7')).toBe(7);
    expect(parseArroyoCliArgument('Int', '9007199254740991')).toBe(9007199254740991);
    expect(parseArroyoCliArgument('Int', '9007199254740992')).toBe(9007199254740992n);
    expect(parseArroyoCliArgument('Int', '-9223372036854775808')).toBe(-(2n ** 63n));
    expect(parseArroyoCliArgument('UInt', '18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseArroyoCliArgument('UInt', '0xff')).toBe(255);
    expect(parseArroyoCliArgument('Int', '-0x10')).toBe(-16);
  });

  it('rejects out-of-range and malformed integers', () => {
    expect(() => parseArroyoCliArgument('Int', '9223372036854775808')).toThrow(ArgumentError);
    expect(() => parseArroyoCliArgument('UInt', '-1')).toThrow(/argument 1 \(UInt\)/);
    expect(() => parseArroyoCliArgument('UInt', '18446744073709551616')).toThrow(ArgumentError);
    expect(() => parseArroyoCliArgument('Int', '1.5')).toThrow(/cannot read "1.5"/);
    expect(() => parseArroyoCliArgument('Int', '')).toThrow(ArgumentError);
    expect(() => parseArroyoCliArgument('Int', '12abc', 2)).toThrow(/argument 3 \(Int\)/);
    expect(argumentError(() => parseArroyoCliArgument('Int', 'x', 4)).position).toBe(4);
  });

  it('parses booleans from true/false/1/0', () => {
    expect(parseArroyoCliArgument('Bool', 'true')).toBe(true);
    expect(parseArroyoCliArgument('Bool', 'FALSE')).toBe(false);
    expect(parseArroyoCliArgument('Bool', '1')).toBe(true);
    expect(parseArroyoCliArgument('Bool', '0')).toBe(false);
    expect(() => parseArroyoCliArgument('Bool', 'yes')).toThrow(/true, false, 1 or 0/);
  });

  it('parses doubles including nan and infinities', () => {
    expect(parseArroyoCliArgument('Double', '2.5')).toBe(2.5);
    expect(parseArroyoCliArgument('Double', '-1e-3')).toBe(-0.001);
    expect(parseArroyoCliArgument('Double', '.5')).toBe(0.5);
    expect(parseArroyoCliArgument('Double', '3')).toBe(3);
    expect(Object.is(parseArroyoCliArgument('Double', '-0'), -0)).toBe(true);
    expect(parseArroyoCliArgument('Double', 'nan')).toBeNaN();
    expect(parseArroyoCliArgument('Double', 'NaN')).toBeNaN();
    expect(parseArroyoCliArgument('Double', 'inf')).toBe(Infinity);
    expect(parseArroyoCliArgument('Double', '-Infinity')).toBe(-Infinity);
    expect(() => parseArroyoCliArgument('Double', 'abc')).toThrow(ArgumentError);
    expect(() => parseArroyoCliArgument('Double', '0x10')).toThrow(ArgumentError);
  });

  it('keeps strings as given', () => {
    expect(parseArroyoCliArgument('String', ' cool ')).toBe(' cool ');
    expect(parseArroyoCliArgument('String', '')).toBe('');
  });

  it('exposes the text parsers', () => {
    expect(parseIntegerText('300', 0n, 255n)).toBeUndefined();
    expect(parseIntegerText('255', 0n, 255n)).toBe(255);
    expect(parseFloatText('1e400')).toBe(Infinity);
  });
});
