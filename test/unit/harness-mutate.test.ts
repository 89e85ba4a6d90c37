// Tests of the fuzzer's mutations and generator (packages/host/src/harness/mutate.ts), no
// worker: each mutation does what it says, inputs are never changed in place, lengths stay
// bounded, and the same seed makes the same inputs.
import { describe, expect, it } from 'vitest';
import { INTERESTING, MUTATIONS, below, mutate, mutateOnce, seeded } from '../../packages/host/src/harness/mutate.js';

const input = (): Uint8Array => Uint8Array.from([0x10, 0x20, 0x30, 0x40, 0x50, 0x60]);

/** Positions where two equally long inputs differ. */
function differences(a: Uint8Array, b: Uint8Array): number[] {
  expect(b.length).toBe(a.length);
  return [...a.keys()].filter((i) => a[i] !== b[i]);
}

describe('harness: mutations', () => {
  it('generates the same numbers in [0, 1) from the same seed, others from another', () => {
    const a = seeded(42);
    const b = seeded(42);
    const first = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(first);
    expect(first.every((n) => n >= 0 && n < 1)).toBe(true);
    expect(Array.from({ length: 100 }, seeded(43))).not.toEqual(first);
    const random = seeded(1);
    const picks = Array.from({ length: 1000 }, () => below(random, 6));
    expect(new Set(picks)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it('flips one bit, or sets one byte to another value, never in place', () => {
    const random = seeded(7);
    for (let i = 0; i < 200; i += 1) {
      const original = input();
      const flipped = mutateOnce(original, 'flip-bit', random, undefined, 64);
      const [at] = differences(original, flipped);
      expect(differences(original, flipped)).toHaveLength(1);
      expect((original[at!]! ^ flipped[at!]!).toString(2).replace(/0/g, '')).toBe('1');
      expect(differences(original, mutateOnce(original, 'set-byte', random, undefined, 64))).toHaveLength(1);
      expect(original).toEqual(input());
    }
  });

  it('inserts 1 to 8 bytes and deletes 1 to 8 bytes, keeping the rest in order', () => {
    const random = seeded(8);
    const original = input();
    for (let i = 0; i < 200; i += 1) {
      const longer = mutateOnce(original, 'insert', random, undefined, 64);
      const added = longer.length - original.length;
      expect(added).toBeGreaterThanOrEqual(1);
      expect(added).toBeLessThanOrEqual(8);
      const at = [...original.keys()].find((k) => longer[k] !== original[k]) ?? original.length;
      expect([...longer.subarray(0, at), ...longer.subarray(at + added)]).toEqual([...original]);
      const shorter = mutateOnce(original, 'delete', random, undefined, 64);
      const removed = original.length - shorter.length;
      expect(removed).toBeGreaterThanOrEqual(1);
      // A run of `removed` bytes is gone from somewhere, the rest unchanged.
      const runs = [...Array(original.length - removed + 1).keys()].map((from) => [...original.subarray(0, from), ...original.subarray(from + removed)]);
      expect(runs).toContainEqual([...shorter]);
    }
    // Nothing to delete or flip in an empty input: it grows instead.
    for (const kind of MUTATIONS) expect(mutateOnce(new Uint8Array(0), kind, random, undefined, 64).length).toBeGreaterThan(0);
  });

  it('splices a head of the input with a tail of another', () => {
    const random = seeded(9);
    const other = Uint8Array.from([0xa1, 0xa2, 0xa3, 0xa4]);
    for (let i = 0; i < 100; i += 1) {
      const spliced = Buffer.from(mutateOnce(input(), 'splice', random, other, 64)).toString('hex');
      const ok = [...Array(7).keys()].some((head) => [...Array(4).keys()].some((tail) => spliced === Buffer.from(input().subarray(0, head)).toString('hex') + Buffer.from(other.subarray(tail)).toString('hex')));
      expect(ok).toBe(true);
    }
  });

  it('writes interesting integers of 8, 16 or 32 bits in either byte order', () => {
    const random = seeded(10);
    const encodings = new Set<string>();
    for (const value of INTERESTING[8]) encodings.add(Buffer.from([value & 0xff]).toString('hex'));
    for (const value of INTERESTING[16]) for (const le of [true, false]) {
      const b = Buffer.alloc(2);
      le ? b.writeUInt16LE(value & 0xffff) : b.writeUInt16BE(value & 0xffff);
      encodings.add(b.toString('hex'));
    }
    for (const value of INTERESTING[32]) for (const le of [true, false]) {
      const b = Buffer.alloc(4);
      le ? b.writeUInt32LE(value >>> 0) : b.writeUInt32BE(value >>> 0);
      encodings.add(b.toString('hex'));
    }
    for (let i = 0; i < 200; i += 1) {
      const original = Uint8Array.from([0x11, 0x11, 0x11, 0x11, 0x11, 0x11]);
      const written = mutateOnce(original, 'interesting', random, undefined, 64);
      const changed = differences(original, written);
      if (changed.length === 0) continue; // wrote a value equal to what was there
      const [from, to] = [changed[0]!, changed.at(-1)!];
      const windows = [1, 2, 4].flatMap((size) => [...Array(size).keys()].map((back) => Buffer.from(written.subarray(from - back, from - back + size)).toString('hex')).filter((w) => w.length === size * 2));
      expect(to - from).toBeLessThan(4);
      expect(windows.some((w) => encodings.has(w))).toBe(true);
    }
  });

  it('stacks 1 to 8 mutations, bounded by maxLength, the same from the same seed', () => {
    const corpus = [input(), Uint8Array.from([1, 2, 3])];
    const run = (seed: number): string[] => {
      const random = seeded(seed);
      return Array.from({ length: 300 }, () => Buffer.from(mutate(corpus[below(random, 2)]!, random, corpus, 12)).toString('hex'));
    };
    const first = run(5);
    expect(run(5)).toEqual(first);
    expect(run(6)).not.toEqual(first);
    expect(first.every((hex) => hex.length <= 24)).toBe(true);
    expect(new Set(first).size).toBeGreaterThan(250);
  });
});
