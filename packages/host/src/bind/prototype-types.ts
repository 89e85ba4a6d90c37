import type { OpaquePointer } from '@airlock/protocol';

/**
 * The TypeScript signature of a C prototype written as a string literal, computed by the type
 * checker alone: `PrototypeFunction<'double cos(double)'>` is `(x: number) => Promise<number>`.
 * It follows the value rules of `host.call` (README, "How C values cross"): integers up to 32
 * bits are numbers, 64-bit ones take `number | bigint` and give `number | bigint`, `const char *`
 * takes a string or bytes, `const T *p, size_t n` is one array argument, `T *p, size_t n` (not
 * const) an output buffer (its count in, `{ result, out }` back), other pointers are
 * OpaquePointers. A prototype it cannot read (not a literal, a type it does not know) gives
 * `(...args: unknown[]) => Promise<unknown>`: the call still checks at run time.
 */
export type PrototypeFunction<P extends string> = string extends P ? UnknownFunction : FromParsed<Parse<P>>;

/** The signature of a function airlock cannot type: anything in, `unknown` out. */
export type UnknownFunction = (...args: unknown[]) => Promise<unknown>;

type Whitespace = ' ' | '\n' | '\t' | '\r';
type Trim<S extends string> = S extends `${Whitespace}${infer R}` ? Trim<R> : S extends `${infer R}${Whitespace}` ? Trim<R> : S;

/** `'const char *s'` → `['const', 'char', '*', 's']`. */
/** `'const char *s'` → `['const', 'char', '*', 's']`: `*` set apart, split on whitespace. */
type Words<S extends string> = SplitSpaces<ReplaceAll<ReplaceAll<ReplaceAll<ReplaceAll<S, '*', ' * '>, '\t', ' '>, '\n', ' '>, '\r', ' '>>;
type ReplaceAll<S extends string, From extends string, To extends string> = S extends `${infer A}${From}${infer B}` ? `${A}${To}${ReplaceAll<B, From, To>}` : S;
type SplitSpaces<S extends string> = S extends `${infer A} ${infer B}` ? (A extends '' ? SplitSpaces<B> : [A, ...SplitSpaces<B>]) : S extends '' ? [] : [S];

type Join<W extends string[]> = W extends [infer F extends string] ? F : W extends [infer F extends string, ...infer R extends string[]] ? `${F} ${Join<R>}` : '';

/** Scalar spellings and what they are: 'small' integers are numbers, 'wide' ones 64-bit. */
interface Scalars {
  void: 'void';
  bool: 'bool';
  _Bool: 'bool';
  char: 'small';
  'signed char': 'small';
  'unsigned char': 'small';
  short: 'small';
  'short int': 'small';
  'signed short': 'small';
  'unsigned short': 'small';
  'unsigned short int': 'small';
  int: 'small';
  signed: 'small';
  'signed int': 'small';
  unsigned: 'small';
  'unsigned int': 'small';
  long: 'wide';
  'long int': 'wide';
  'signed long': 'wide';
  'unsigned long': 'wide';
  'unsigned long int': 'wide';
  'long long': 'wide';
  'long long int': 'wide';
  'signed long long': 'wide';
  'unsigned long long': 'wide';
  'unsigned long long int': 'wide';
  int8_t: 'small';
  uint8_t: 'small';
  int16_t: 'small';
  uint16_t: 'small';
  int32_t: 'small';
  uint32_t: 'small';
  int64_t: 'wide';
  uint64_t: 'wide';
  size_t: 'wide';
  ssize_t: 'wide';
  intptr_t: 'wide';
  uintptr_t: 'wide';
  ptrdiff_t: 'wide';
  off_t: 'wide';
  float: 'float';
  double: 'float';
}

/** What the typed arrays of output buffers are, by element spelling. */
interface OutArrays {
  bool: Uint8Array;
  _Bool: Uint8Array;
  char: Int8Array;
  'signed char': Int8Array;
  'unsigned char': Uint8Array;
  int8_t: Int8Array;
  uint8_t: Uint8Array;
  void: Uint8Array;
  short: Int16Array;
  'unsigned short': Uint16Array;
  int16_t: Int16Array;
  uint16_t: Uint16Array;
  int: Int32Array;
  unsigned: Uint32Array;
  'unsigned int': Uint32Array;
  int32_t: Int32Array;
  uint32_t: Uint32Array;
  long: BigInt64Array;
  'unsigned long': BigUint64Array;
  'long long': BigInt64Array;
  'unsigned long long': BigUint64Array;
  int64_t: BigInt64Array;
  uint64_t: BigUint64Array;
  size_t: BigUint64Array;
  ssize_t: BigInt64Array;
  float: Float32Array;
  double: Float64Array;
}

/** One C type as written: its base spelling, whether it is a pointer and whether const. */
interface TypeInfo {
  base: string;
  pointer: boolean;
  const: boolean;
}

type Without<W extends string[], X extends string> = W extends [infer F extends string, ...infer R extends string[]] ? (F extends X ? Without<R, X> : [F, ...Without<R, X>]) : [];
type Has<W extends string[], X extends string> = X extends W[number] ? true : false;
type Last<W extends string[]> = W extends [...infer _, infer L extends string] ? L : never;
type DropLast<W extends string[]> = W extends [...infer R extends string[], string] ? R : [];

/** Drops a parameter's name: a last word that is not part of a type spelling. */
type DropName<W extends string[]> = W extends []
  ? []
  : Last<W> extends '*'
    ? W
    : Join<Without<W, 'const' | '*'>> extends keyof Scalars
      ? W
      : DropLast<W>;

type Info<W extends string[]> = { base: Join<Without<W, 'const' | '*'>>; pointer: Has<W, '*'>; const: Has<W, 'const'> };

/** `'double cos(double x)'` → `{ returns: TypeInfo, params: TypeInfo[] }`, or never. */
type Parse<P extends string> = Trim<P> extends `${infer Head}(${infer Params})`
  ? { returns: Info<DropLast<Words<Head>>>; params: ParseParams<Trim<Params>> }
  : never;

type ParseParams<S extends string> = S extends '' | 'void' ? [] : SplitCommas<S> extends infer Parts extends string[] ? { [K in keyof Parts]: Info<DropName<Words<Parts[K]>>> } : never;
type SplitCommas<S extends string> = S extends `${infer A},${infer B}` ? [A, ...SplitCommas<B>] : [S];

type Known<T extends TypeInfo> = T['pointer'] extends true ? true : T['base'] extends keyof Scalars ? true : false;
type AllKnown<T extends TypeInfo[]> = T extends [infer F extends TypeInfo, ...infer R extends TypeInfo[]] ? (Known<F> extends true ? AllKnown<R> : false) : true;

type IsLength<T> = T extends { pointer: false; base: 'size_t' | 'ssize_t' } ? true : false;
type IsChar<B extends string> = B extends 'char' | 'signed char' | 'unsigned char' ? true : false;
type IsElement<B extends string> = B extends keyof Scalars ? (Scalars[B] extends 'void' ? B extends 'void' ? true : false : true) : false;

/** A scalar argument's JavaScript type. */
type ScalarIn<B extends string> = B extends keyof Scalars ? { small: number; wide: number | bigint; float: number; bool: boolean; void: never }[Scalars[B]] : never;
/** A scalar result's JavaScript type. */
type ScalarOut<B extends string> = B extends keyof Scalars ? { small: number; wide: number | bigint; float: number; bool: boolean; void: null }[Scalars[B]] : never;

/** The arguments of a parameter list, folding `T *p, size_t n` pairs into one. */
type Args<T extends TypeInfo[]> = T extends [infer F extends TypeInfo, infer N, ...infer R extends TypeInfo[]]
  ? F['pointer'] extends true
    ? IsElement<F['base']> extends true
      ? IsLength<N> extends true
        ? [F['const'] extends true ? ArrayIn<F['base']> : OutCount<F['base']>, ...Args<R>]
        : [PointerIn<F>, ...Args<[N & TypeInfo, ...R]>]
      : [PointerIn<F>, ...Args<[N & TypeInfo, ...R]>]
    : [ScalarIn<F['base']>, ...Args<[N & TypeInfo, ...R]>]
  : T extends [infer F extends TypeInfo]
    ? [F['pointer'] extends true ? PointerIn<F> : ScalarIn<F['base']>]
    : [];

/** The output buffers of a parameter list, in order. */
type Outs<T extends TypeInfo[]> = T extends [infer F extends TypeInfo, infer N, ...infer R extends TypeInfo[]]
  ? F extends { pointer: true; const: false }
    ? IsElement<F['base']> extends true
      ? IsLength<N> extends true
        ? [OutArray<F['base']>, ...Outs<R>]
        : Outs<[N & TypeInfo, ...R]>
      : Outs<[N & TypeInfo, ...R]>
    : Outs<[N & TypeInfo, ...R]>
  : [];

type ArrayIn<B extends string> = B extends 'uint8_t' | 'unsigned char' | 'char' | 'int8_t' | 'signed char' | 'void'
  ? Uint8Array | Int8Array | string | readonly number[] | null
  : ArrayBufferView | readonly ScalarIn<B>[] | null;
/** An output buffer: its element count, or its initial contents. */
type OutCount<B extends string> = number | ArrayBufferView | readonly ScalarIn<B>[];
type OutArray<B extends string> = B extends keyof OutArrays ? OutArrays[B] : ArrayBufferView;
type PointerIn<F extends TypeInfo> = IsChar<F['base']> extends true ? string | Uint8Array | null : OpaquePointer | null;
type Returned<R extends TypeInfo> = R['pointer'] extends true ? (IsChar<R['base']> extends true ? string | Uint8Array | null : OpaquePointer | null) : ScalarOut<R['base']>;

type FromParsed<T> = [T] extends [never]
  ? UnknownFunction
  : T extends { returns: infer R extends TypeInfo; params: infer Ps extends TypeInfo[] }
    ? AllKnown<[R, ...Ps]> extends true
      ? (...args: Args<Ps>) => Promise<Outs<Ps> extends [] ? Returned<R> : { result: Returned<R>; out: Outs<Ps> }>
      : UnknownFunction
    : UnknownFunction;
