import { describe, expect, it } from 'vitest';
import { ArgumentError, PrototypeError, buildSignature, checkArguments, formatPrototype, parsePrototype } from '@airlock/protocol';

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
