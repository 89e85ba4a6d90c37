// Tests of the harness's delta debugging (packages/host/src/harness/minimize.ts) with failure
// predicates of the test's own: no worker. What the minimizer finds, how many tries it takes,
// and that its bounds on tries and time stop it with the smallest input found so far.
import { describe, expect, it } from 'vitest';
import { minimize, split } from '../../packages/host/src/harness/minimize.js';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const text = (data: Uint8Array): string => Buffer.from(data).toString('latin1');

/** A predicate that fails when the input holds `needle`, counting its calls. */
function holding(needle: string): { fails: (candidate: Uint8Array) => Promise<boolean>; calls: string[] } {
  const calls: string[] = [];
  return { calls, fails: async (candidate) => (calls.push(text(candidate)), text(candidate).includes(needle)) };
}

describe('harness: minimize (ddmin)', () => {
  it('splits into nearly equal chunks, the first ones longer', () => {
    expect(split(bytes('abcdefg'), 3).map(text)).toEqual(['abc', 'de', 'fg']);
    expect(split(bytes('ab'), 2).map(text)).toEqual(['a', 'b']);
  });

  it('reduces to the bytes the failure needs, trying no input twice', async () => {
    const predicate = holding('DEAD');
    const input = bytes(`${'x'.repeat(50)}DEAD${'y'.repeat(70)}`);
    const found = await minimize(input, predicate.fails, { maxTries: 1000, timeMs: 60_000 });
    expect(text(found.bytes)).toBe('DEAD');
    expect(found.stoppedBy).toBe('done');
    expect(found.tries).toBe(predicate.calls.length);
    expect(new Set(predicate.calls).size).toBe(predicate.calls.length);
  });

  it('keeps bytes that must stay apart (1-minimal: no single byte can go)', async () => {
    // Fails when an 'A' comes before a 'Z', anywhere.
    const fails = async (candidate: Uint8Array): Promise<boolean> => /A.*Z/s.test(text(candidate));
    const found = await minimize(bytes('..A.......Z..'), fails, { maxTries: 1000, timeMs: 60_000 });
    expect(text(found.bytes)).toBe('AZ');
  });

  it('reaches the empty input when nothing is needed, and leaves an input nothing can shorten', async () => {
    expect(text((await minimize(bytes('abc'), async () => true, { maxTries: 100, timeMs: 60_000 })).bytes)).toBe('');
    const found = await minimize(bytes('ab'), async (candidate) => candidate.length === 2, { maxTries: 100, timeMs: 60_000 });
    expect(text(found.bytes)).toBe('ab');
    expect(found).toMatchObject({ tries: 2, stoppedBy: 'done' });
  });

  it('stops at the tries bound with the smallest failing input found so far', async () => {
    const predicate = holding('DEAD');
    const input = bytes(`${'x'.repeat(10)}DEAD${'y'.repeat(390)}`);
    const found = await minimize(input, predicate.fails, { maxTries: 5, timeMs: 60_000 });
    expect(found.stoppedBy).toBe('tries');
    expect(found.tries).toBe(5);
    expect(predicate.calls).toHaveLength(5);
    expect(text(found.bytes)).toContain('DEAD');
    expect(found.bytes.length).toBeLessThan(input.length);
  });

  it('stops at the time bound (on its own clock) before starting another try', async () => {
    let clock = 0;
    const predicate = holding('DEAD');
    // Every try takes 10 "ms"; 35 allow four tries to start.
    const fails = async (candidate: Uint8Array): Promise<boolean> => ((clock += 10), predicate.fails(candidate));
    const found = await minimize(bytes(`${'x'.repeat(100)}DEAD`), fails, { maxTries: 1000, timeMs: 35, now: () => clock });
    expect(found).toMatchObject({ stoppedBy: 'time', tries: 4 });
    expect(text(found.bytes)).toContain('DEAD');
  });
});
