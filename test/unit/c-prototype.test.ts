import { describe, expect, it } from 'vitest';
import { ArgumentError, PrototypeError, ResultError, buildSignature, checkArguments, checkCResult, formatPrototype, parsePrototype, plainNumberArguments } from '@airlock/protocol';

describe('C prototypes', () => {
  it('parses names, multi-word types, pointers and qualifiers', () => {
    const p = parsePrototype('unsigned long long f(const char *name, signed char c, struct foo *handle, size_t)');
    expect(p.name).toBe('f');
    expect(p.returns).toMatchObject({ kind: 'int', bits: 64, signed: false });
    expect(p.parameters.map((x) => x.name)).toEqual(['name', 'c', 'handle', 'arg3']);
    expect(p.parameters[2]!.type).toMatchObject({ kind: 'pointer', to: { kind: 'opaque', name: 'struct foo' } });
    expect(formatPrototype(parsePrototype('int add(int a, int b)'))).toBe('int add(int a, int b)');
    expect(parsePrototype('void f(void)').parameters).toEqual([]);
    expect(parsePrototype('double cos(double)').parameters[0]!.type).toMatchObject({ kind: 'float', bits: 64 });
  });

  it('refuses what it cannot call, saying why', () => {
    expect(() => parsePrototype('int f(int')).toThrow(PrototypeError);
    expect(() => parsePrototype('int printf(const char *fmt, ...)')).toThrow(/variadic/);
    expect(() => parsePrototype('int f(struct s value)')).toThrow(/by value/);
    expect(() => parsePrototype('int f(int a[4])')).toThrow(/Array parameters/);
    expect(() => parsePrototype('frob f(int)')).toThrow('Unknown type "frob" in the return type of "frob f(int)": a parameter or result is a C scalar (int, double, uint64_t, size_t, bool …) or a pointer (a typedef of a struct: pass a pointer to it)');
    expect(() => parsePrototype('itn f(int)')).toThrow(/^Unknown type "itn" in the return type of "itn f\(int\)" \(did you mean "int"\?\)/);
    expect(() => parsePrototype('int f(doubel x)')).toThrow(/^Unknown type "doubel" in the parameter 1 of "int f\(doubel x\)" \(did you mean "double"\?\)/);
    expect(() => parsePrototype('int (int)')).toThrow(PrototypeError);
  });

  it('turns pointer + size_t pairs into buffers and output buffers', () => {
    const s = buildSignature('int f(const uint8_t *data, size_t len, double *out, size_t n, void *ctx, const char *name)');
    expect(s.slots.map((x) => x.kind)).toEqual(['array-in', 'array-out', 'pointer', 'string']);
    expect(s.native).toHaveLength(6);
    expect(s.hasOutputs).toBe(true);
  });

  it('checks arguments with the position, the value and the expected type', () => {
    const s = buildSignature('int f(int8_t a, uint64_t b, bool c)');
    expect(() => checkArguments(s, [1, 2n, true])).not.toThrow();
    try {
      checkArguments(s, [128, 1, true]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ArgumentError);
      expect((error as ArgumentError).position).toBe(0);
      expect((error as Error).message).toBe('argument 1 (a: int8_t) expects an integer from -128 to 127, got 128 (number)');
    }
    expect(() => checkArguments(s, [1, -1n, true])).toThrow(/argument 2 \(b: uint64_t\)/);
    expect(() => checkArguments(s, [1, 1, 'yes'])).toThrow(/expects a boolean, got "yes" \(string\)/);
    expect(() => checkArguments(s, [1])).toThrow(/takes 3 arguments/);
  });
});

describe('integer bounds, argument and result alike', () => {
  const types: Array<[string, number, boolean]> = [
    ['int8_t', 8, true],
    ['uint8_t', 8, false],
    ['int16_t', 16, true],
    ['uint16_t', 16, false],
    ['int32_t', 32, true],
    ['uint32_t', 32, false],
    ['int64_t', 64, true],
    ['uint64_t', 64, false],
  ];
  for (const [name, bits, signed] of types) {
    it(`${name}: every integer from its minimum to its maximum passes as a number or bigint, one past either end is refused`, () => {
      const signature = buildSignature(`${name} f(${name} x)`);
      const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
      const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
      const asNumber = (value: bigint) => (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
      for (const inside of [min, min + 1n, 0n, max - 1n, max]) {
        expect(() => checkArguments(signature, [asNumber(inside)])).not.toThrow();
        expect(() => checkArguments(signature, [inside])).not.toThrow();
        expect(() => checkCResult(signature, [0], asNumber(inside), 1)).not.toThrow();
      }
      for (const outside of [min - 1n, max + 1n]) {
        expect(() => checkArguments(signature, [asNumber(outside)])).toThrow(ArgumentError);
        expect(() => checkArguments(signature, [outside])).toThrow(new RegExp(`expects an integer from ${min} to ${max}`));
        expect(() => checkCResult(signature, [0], asNumber(outside), 1)).toThrow(ResultError);
      }
      for (const odd of [0.5, Number.NaN, Number.POSITIVE_INFINITY, '1', true, null]) {
        expect(() => checkArguments(signature, [odd])).toThrow(/argument 1 \(x: /);
        expect(() => checkCResult(signature, [0], odd, 1)).toThrow(ResultError);
      }
    });
  }

  it('floats take any number (and a bigint as an argument); bool takes booleans and 0/1 as arguments', () => {
    const double = buildSignature('double f(double x)');
    for (const value of [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) expect(() => checkArguments(double, [value])).not.toThrow();
    expect(() => checkArguments(double, [5n])).not.toThrow();
    expect(() => checkArguments(double, ['1'])).toThrow(/expects a number, got "1" \(string\)/);
    const bool = buildSignature('bool f(bool x)');
    for (const value of [true, false, 0, 1]) expect(() => checkArguments(bool, [value])).not.toThrow();
    expect(() => checkArguments(bool, [2])).toThrow(/expects a boolean, got 2 \(number\)/);
    expect(() => checkCResult(bool, [true], 1, 1)).toThrow(ResultError);
  });
});

describe('plainNumberArguments (the hot path: arguments sent and passed as they are)', () => {
  it('is true only for numbers that fit their scalar slots and that JSON carries exactly', () => {
    const ints = buildSignature('int add(int a, uint8_t b)');
    expect(plainNumberArguments(ints, [1, 255])).toBe(true);
    expect(plainNumberArguments(ints, [-(2 ** 31), 0])).toBe(true);
    // Out of range, not integers, the wrong count, another type: the long way, which words the error.
    expect(plainNumberArguments(ints, [2 ** 31, 1])).toBe(false);
    expect(plainNumberArguments(ints, [1, 256])).toBe(false);
    expect(plainNumberArguments(ints, [1.5, 1])).toBe(false);
    expect(plainNumberArguments(ints, [1])).toBe(false);
    expect(plainNumberArguments(ints, [1, 2, 3])).toBe(false);
    expect(plainNumberArguments(ints, [1n, 2])).toBe(false);
    expect(plainNumberArguments(ints, ['1', 2])).toBe(false);
    const floats = buildSignature('double hypot(double x, float y)');
    expect(plainNumberArguments(floats, [1.5, -2])).toBe(true);
    // JSON has no NaN, Infinity or -0: those are tagged on the wire.
    for (const special of [Number.NaN, Number.POSITIVE_INFINITY, -0]) expect(plainNumberArguments(floats, [special, 1])).toBe(false);
    expect(plainNumberArguments(buildSignature('int f(const char *s)'), [1])).toBe(false);
    expect(plainNumberArguments(buildSignature('int f(bool b)'), [1])).toBe(false);
    expect(plainNumberArguments(buildSignature('int f(void)'), [])).toBe(true);
  });
});
