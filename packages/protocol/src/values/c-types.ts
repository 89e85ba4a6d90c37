/** A scalar C type airlock can pass by value. */
export type ScalarType =
  | { kind: 'bool' }
  | { kind: 'int'; bits: 8 | 16 | 32 | 64; signed: boolean; name: string }
  | { kind: 'float'; bits: 32 | 64; name: string };

/** A C type as written in a prototype, normalised. */
export type CType =
  | { kind: 'void' }
  | ScalarType
  | { kind: 'pointer'; to: CType | { kind: 'opaque'; name: string }; const: boolean };

const I = (bits: 8 | 16 | 32 | 64, signed: boolean, name: string): ScalarType => ({ kind: 'int', bits, signed, name });

/**
 * The named scalar types, by their spelling after whitespace is folded. `long` is the LP64
 * `long` (64-bit) of Linux on x86-64 and arm64, the platforms airlock supports.
 */
export const SCALAR_TYPES: ReadonlyMap<string, ScalarType | { kind: 'void' }> = new Map<string, ScalarType | { kind: 'void' }>([
  ['void', { kind: 'void' }],
  ['bool', { kind: 'bool' }],
  ['_Bool', { kind: 'bool' }],
  ['char', I(8, true, 'char')],
  ['signed char', I(8, true, 'signed char')],
  ['unsigned char', I(8, false, 'unsigned char')],
  ['short', I(16, true, 'short')],
  ['short int', I(16, true, 'short')],
  ['signed short', I(16, true, 'short')],
  ['unsigned short', I(16, false, 'unsigned short')],
  ['unsigned short int', I(16, false, 'unsigned short')],
  ['int', I(32, true, 'int')],
  ['signed', I(32, true, 'int')],
  ['signed int', I(32, true, 'int')],
  ['unsigned', I(32, false, 'unsigned int')],
  ['unsigned int', I(32, false, 'unsigned int')],
  ['long', I(64, true, 'long')],
  ['long int', I(64, true, 'long')],
  ['signed long', I(64, true, 'long')],
  ['unsigned long', I(64, false, 'unsigned long')],
  ['unsigned long int', I(64, false, 'unsigned long')],
  ['long long', I(64, true, 'long long')],
  ['long long int', I(64, true, 'long long')],
  ['signed long long', I(64, true, 'long long')],
  ['unsigned long long', I(64, false, 'unsigned long long')],
  ['unsigned long long int', I(64, false, 'unsigned long long')],
  ['int8_t', I(8, true, 'int8_t')],
  ['uint8_t', I(8, false, 'uint8_t')],
  ['int16_t', I(16, true, 'int16_t')],
  ['uint16_t', I(16, false, 'uint16_t')],
  ['int32_t', I(32, true, 'int32_t')],
  ['uint32_t', I(32, false, 'uint32_t')],
  ['int64_t', I(64, true, 'int64_t')],
  ['uint64_t', I(64, false, 'uint64_t')],
  ['size_t', I(64, false, 'size_t')],
  ['ssize_t', I(64, true, 'ssize_t')],
  ['intptr_t', I(64, true, 'intptr_t')],
  ['uintptr_t', I(64, false, 'uintptr_t')],
  ['ptrdiff_t', I(64, true, 'ptrdiff_t')],
  ['off_t', I(64, true, 'off_t')],
  ['float', { kind: 'float', bits: 32, name: 'float' }],
  ['double', { kind: 'float', bits: 64, name: 'double' }],
]);

/** Spells a type the way a C programmer would read it back in an error message. */
export function formatCType(type: CType): string {
  switch (type.kind) {
    case 'void':
      return 'void';
    case 'bool':
      return 'bool';
    case 'int':
    case 'float':
      return type.name;
    case 'pointer': {
      const inner = type.to.kind === 'opaque' ? type.to.name : formatCType(type.to);
      return `${type.const ? 'const ' : ''}${inner} *`;
    }
  }
}

/** Inclusive range of an integer type, as bigints. */
export function integerRange(type: { bits: number; signed: boolean }): { min: bigint; max: bigint } {
  const bits = BigInt(type.bits);
  return type.signed
    ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
    : { min: 0n, max: (1n << bits) - 1n };
}
