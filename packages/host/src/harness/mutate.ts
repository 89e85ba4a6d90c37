// The fuzzer's mutations, on its own seeded generator: the same seed makes the same inputs.
// AFL's classic set: flip a bit, set a byte, insert or delete a run of bytes, splice with another
// input, write an "interesting" integer (boundaries where parsers go wrong) in 8, 16 or 32 bits.
import { concat } from './bytes.js';

/** A generator of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast and good enough to pick mutations; the same seed gives the same sequence. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [0, n). */
export function below(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** AFL's interesting values: signed boundaries, powers of two, off-by-ones around them. */
export const INTERESTING: Record<8 | 16 | 32, readonly number[]> = {
  8: [-128, -1, 0, 1, 16, 32, 64, 100, 127],
  16: [-32768, -129, 128, 255, 256, 512, 1000, 1024, 4096, 32767],
  32: [-2147483648, -100663046, -32769, 32768, 65535, 65536, 100663045, 2147483647],
};

/** The kinds of mutation. */
export const MUTATIONS = ['flip-bit', 'set-byte', 'insert', 'delete', 'splice', 'interesting'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/**
 * One mutation of `input` (never changed in place). Those that need a byte to work on insert
 * into an empty input instead; `splice` joins a head of `input` with a tail of `other`; the
 * result is cut to `maxLength`.
 */
export function mutateOnce(input: Uint8Array, kind: Mutation, random: Random, other: Uint8Array | undefined, maxLength: number): Uint8Array {
  if (input.length === 0 && kind !== 'splice') kind = 'insert';
  let out: Uint8Array;
  switch (kind) {
    case 'flip-bit': {
      out = input.slice();
      const bit = below(random, input.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
      break;
    }
    case 'set-byte': {
      out = input.slice();
      const at = below(random, input.length);
      // A different value: XOR with 1..255.
      out[at]! ^= 1 + below(random, 255);
      break;
    }
    case 'insert': {
      const at = below(random, input.length + 1);
      const length = 1 + below(random, 8);
      // A run of one random byte, or random bytes (AFL clones or writes a block alike).
      const same = random() < 0.5;
      const fill = below(random, 256);
      const block = Uint8Array.from({ length }, () => (same ? fill : below(random, 256)));
      out = concat([input.subarray(0, at), block, input.subarray(at)]);
      break;
    }
    case 'delete': {
      const length = 1 + below(random, Math.min(8, input.length));
      const at = below(random, input.length - length + 1);
      out = concat([input.subarray(0, at), input.subarray(at + length)]);
      break;
    }
    case 'splice': {
      if (other === undefined || other.length === 0) return mutateOnce(input, 'insert', random, undefined, maxLength);
      const head = below(random, input.length + 1);
      const tail = below(random, other.length);
      out = concat([input.subarray(0, head), other.subarray(tail)]);
      break;
    }
    case 'interesting': {
      const bits = ([8, 16, 32] as const)[below(random, 3)]!;
      const bytes = bits / 8;
      if (input.length < bytes) return mutateOnce(input, 'insert', random, undefined, maxLength);
      const values = INTERESTING[bits];
      const value = values[below(random, values.length)]!;
      const at = below(random, input.length - bytes + 1);
      out = input.slice();
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      const littleEndian = random() < 0.5;
      if (bits === 8) view.setInt8(at, value);
      else if (bits === 16) view.setUint16(at, value & 0xffff, littleEndian);
      else view.setUint32(at, value >>> 0, littleEndian);
      break;
    }
  }
  return out.length > maxLength ? out.slice(0, maxLength) : out;
}

/** A new input from `input`: 1 to 8 stacked mutations (AFL's havoc), `corpus` giving splice partners. */
export function mutate(input: Uint8Array, random: Random, corpus: readonly Uint8Array[], maxLength: number): Uint8Array {
  let out = input;
  const stack = 1 << below(random, 4);
  for (let i = 0; i < stack; i += 1) {
    const kind = MUTATIONS[below(random, MUTATIONS.length)]!;
    const other = corpus.length > 0 ? corpus[below(random, corpus.length)] : undefined;
    out = mutateOnce(out, kind, random, other, maxLength);
  }
  return out;
}
