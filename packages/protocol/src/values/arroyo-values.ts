import { ArgumentError, describeValue } from './c-signature.js';

/**
 * The Arroyo plugin ABI's value types, in the order of its C enum `PluginType`
 * (`{Bool, Int, UInt, Double, String}`): a type's index is its number on the wire.
 */
export const ARROYO_TYPES = ['Bool', 'Int', 'UInt', 'Double', 'String'] as const;
/** One of ARROYO_TYPES. */
export type ArroyoType = (typeof ARROYO_TYPES)[number];

/** The number of an Arroyo type in the C enum `PluginType`. */
export function arroyoTypeCode(type: ArroyoType): number {
  return ARROYO_TYPES.indexOf(type);
}

/** The Arroyo type of a `PluginType` number, or undefined when the number is not one. */
export function arroyoTypeOf(code: number): ArroyoType | undefined {
  return Number.isInteger(code) ? ARROYO_TYPES[code] : undefined;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** What an Arroyo type accepts, in words (for error messages). */
export function describeArroyoType(type: ArroyoType): string {
  switch (type) {
    case 'Bool':
      return 'a boolean';
    case 'Int':
      return `an integer from ${INT64_MIN} to ${INT64_MAX} (a bigint beyond 2^53)`;
    case 'UInt':
      return `an integer from 0 to ${UINT64_MAX} (a bigint beyond 2^53)`;
    case 'Double':
      return 'a number';
    case 'String':
      return 'a string without NUL characters';
  }
}

/** The part of an Arroyo plugin's metadata the argument check needs. */
export interface ArroyoSignature {
  name: string;
  argTypes: readonly ArroyoType[];
}

/**
 * Checks one value against an Arroyo type; throws ArgumentError (with `position`, 0-based)
 * whose message is `label expects …, got …`.
 */
export function checkArroyoValue(type: ArroyoType, value: unknown, position: number, label: string): void {
  const fail = (extra = ''): never => {
    throw new ArgumentError(`${label} expects ${describeArroyoType(type)}, got ${describeValue(value)}${extra}`, position);
  };
  switch (type) {
    case 'Bool':
      if (typeof value !== 'boolean') fail();
      return;
    case 'Double':
      if (typeof value !== 'number') fail();
      return;
    case 'String':
      if (typeof value !== 'string') fail();
      if ((value as string).includes('\0')) fail(', which contains a NUL character that a C string cannot carry');
      return;
    case 'Int':
    case 'UInt': {
      let big: bigint;
      if (typeof value === 'bigint') big = value;
      else if (typeof value === 'number' && Number.isInteger(value)) {
        if (!Number.isSafeInteger(value)) fail(', which is past 2^53 and no longer exact: pass a bigint');
        big = BigInt(value);
      } else return fail();
      const [min, max] = type === 'Int' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
      if (big < min || big > max) fail();
      return;
    }
  }
}

/**
 * Checks a call's arguments against an Arroyo plugin's metadata before anything runs; throws
 * ArgumentError naming the first argument that does not fit (its position is 0-based, the
 * message counts from 1), or saying how many arguments were expected and how many given.
 */
export function checkArroyoArguments(metadata: ArroyoSignature, args: readonly unknown[]): void {
  const { name, argTypes } = metadata;
  if (!Array.isArray(args)) {
    throw new ArgumentError(`${name} takes its arguments as an array, got ${describeValue(args)}`, 0);
  }
  if (args.length !== argTypes.length) {
    const count = argTypes.length;
    throw new ArgumentError(
      `${name} takes ${count} argument${count === 1 ? '' : 's'} (${argTypes.join(', ') || 'none'}), got ${args.length}`,
      Math.min(args.length, count),
    );
  }
  for (let i = 0; i < argTypes.length; i += 1) {
    const type = argTypes[i]!;
    checkArroyoValue(type, args[i], i, `argument ${i + 1} of ${name} (${type})`);
  }
}

const DECIMAL = /^[+-]?\d+$/;
const HEX = /^([+-]?)0x([0-9a-f]+)$/i;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Reads an integer written in decimal (or `0x` hex) within [min, max]: a number when it is a
 * safe integer, otherwise a bigint. Returns undefined when the text is not such an integer.
 */
export function parseIntegerText(text: string, min: bigint, max: bigint): number | bigint | undefined {
  const trimmed = text.trim();
  let big: bigint;
  if (DECIMAL.test(trimmed)) big = BigInt(trimmed);
  else {
    const hex = HEX.exec(trimmed);
    if (hex === null) return undefined;
    big = BigInt(`0x${hex[2]}`);
    if (hex[1] === '-') big = -big;
  }
  if (big < min || big > max) return undefined;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Reads a floating-point number, `nan`, `inf`, `-inf`, `infinity` (any case). Undefined when it is none of these. */
export function parseFloatText(text: string): number | undefined {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return Number.NaN;
  if (/^\+?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY;
  return FLOAT.test(trimmed) ? Number(trimmed) : undefined;
}

/** Reads `true`/`false`/`1`/`0` (any case). Undefined otherwise. */
export function parseBooleanText(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  return undefined;
}

const CLI_FORMS: Record<ArroyoType, string> = {
  Bool: 'a boolean (true, false, 1 or 0)',
  Int: `an integer from ${INT64_MIN} to ${INT64_MAX} (decimal or 0x hex)`,
  UInt: `an integer from 0 to ${UINT64_MAX} (decimal or 0x hex)`,
  Double: 'a number (such as 2.5, -1e-3, nan, inf, -inf)',
  String: 'a string',
};

/**
 * Turns one command-line argument into the value of an Arroyo type: Int/UInt to a number when
 * safe, otherwise a bigint (range-checked); Bool from true/false/1/0; Double also from
 * nan/inf/-inf; String as given. Throws ArgumentError (at `position`, 0-based) otherwise.
 */
export function parseArroyoCliArgument(type: ArroyoType, text: string, position = 0): unknown {
  let value: unknown;
  switch (type) {
    case 'Bool':
      value = parseBooleanText(text);
      break;
    case 'Int':
      value = parseIntegerText(text, INT64_MIN, INT64_MAX);
      break;
    case 'UInt':
      value = parseIntegerText(text, 0n, UINT64_MAX);
      break;
    case 'Double':
      value = parseFloatText(text);
      break;
    case 'String':
      value = text;
      break;
  }
  if (value === undefined) {
    throw new ArgumentError(`argument ${position + 1} (${type}) expects ${CLI_FORMS[type]}, cannot read ${JSON.stringify(text)} as one`, position);
  }
  return value;
}
