// `--minimize`: delta debugging (Zeller's ddmin) on bytes. The input is cut into n chunks; a
// chunk alone, then the input without a chunk, is tried; whatever still fails the same way
// becomes the input, and when nothing does the chunks get smaller. Every try is a real call (the
// caller's `stillFails`), so the search is bounded in tries and in time: it stops with the
// smallest failing input found so far.
import { concat } from './bytes.js';

/** Bounds of one minimization. */
export interface MinimizeBounds {
  /** Calls to make at most. */
  maxTries: number;
  /** Time to spend at most, in ms (a try that has started is waited for). */
  timeMs: number;
  /** The clock, in ms (tests pass their own). */
  now?: () => number;
}

/** What a minimization found. */
export interface Minimized {
  /** The smallest input found that still fails (the input itself when none smaller did). */
  bytes: Uint8Array;
  /** Calls made (inputs tried once each: a candidate seen before is not tried again). */
  tries: number;
  /** `done` when no smaller input fails (1-minimal: no single chunk can go), else the bound that stopped it. */
  stoppedBy: 'done' | 'tries' | 'time';
}

/** Reduces `input` while `stillFails` holds for the reduced input, within `bounds`. */
export async function minimize(input: Uint8Array, stillFails: (candidate: Uint8Array) => Promise<boolean>, bounds: MinimizeBounds): Promise<Minimized> {
  const now = bounds.now ?? (() => performance.now());
  const deadline = now() + bounds.timeMs;
  const seen = new Set<string>();
  let tries = 0;
  let current = input;
  let stoppedBy: Minimized['stoppedBy'] | undefined;

  // Tries a candidate once; undefined when a bound stops the search first.
  const attempt = async (candidate: Uint8Array): Promise<boolean | undefined> => {
    const key = Buffer.from(candidate.buffer, candidate.byteOffset, candidate.byteLength).toString('latin1');
    if (seen.has(key)) return false;
    if (tries >= bounds.maxTries) stoppedBy = 'tries';
    else if (now() >= deadline) stoppedBy = 'time';
    if (stoppedBy !== undefined) return undefined;
    seen.add(key);
    tries += 1;
    return stillFails(candidate);
  };

  let n = 2;
  search: while (current.length >= 2) {
    const chunks = split(current, n);
    // A chunk alone (worth trying only when there are more than two: with two, each chunk is
    // the other's complement, tried just below).
    if (n > 2) {
      for (const chunk of chunks) {
        const fails = await attempt(chunk);
        if (fails === undefined) break search;
        if (fails) {
          current = chunk;
          n = 2;
          continue search;
        }
      }
    }
    for (let i = 0; i < chunks.length; i += 1) {
      const complement = concat(chunks.filter((_, j) => j !== i));
      const fails = await attempt(complement);
      if (fails === undefined) break search;
      if (fails) {
        current = complement;
        n = Math.max(n - 1, 2);
        continue search;
      }
    }
    if (n >= current.length) break;
    n = Math.min(n * 2, current.length);
  }
  // A single byte may still go: the empty input is the last candidate.
  if (stoppedBy === undefined && current.length === 1) {
    const fails = await attempt(new Uint8Array(0));
    if (fails) current = new Uint8Array(0);
  }
  return { bytes: current, tries, stoppedBy: stoppedBy ?? 'done' };
}

/** `bytes` in `n` chunks of nearly equal size (the first ones one byte longer). */
export function split(bytes: Uint8Array, n: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const size = Math.floor(bytes.length / n);
  let extra = bytes.length % n;
  let at = 0;
  for (let i = 0; i < n && at < bytes.length; i += 1) {
    const length = size + (extra > 0 ? 1 : 0);
    if (extra > 0) extra -= 1;
    chunks.push(bytes.subarray(at, at + length));
    at += length;
  }
  return chunks;
}
