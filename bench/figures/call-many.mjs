// Figure 5: host.callMany(library, fn, argsList) over 100,000 inputs (scaled by BENCH_CALLS),
// which resolves to an array shaped like Promise.allSettled's, three rounds on one host; the best
// round counts, as for the other figures (the first pays for compiling the hot path). Every
// value is checked. Null when the host has no callMany (it is not faked with a loop of calls).
import { createHost } from '@airlock/host';
import { ADD, SCALE, TYPES_LIB, errorRecord, now } from '../lib/common.mjs';

export async function callMany(inputs = Math.round(100_000 * SCALE), rounds = 3) {
  const host = createHost();
  try {
    if (typeof host.callMany !== 'function') return { callsPerSecond: null, inputs, error: { code: null, message: 'callMany: not available' } };
    const argsList = Array.from({ length: inputs }, (_, i) => [i, 1]);
    await host.call(TYPES_LIB, ADD, [0, 1]); // the worker is up: this measures calls, not a start
    const perSecond = [];
    for (let round = 0; round < rounds; round++) {
      const start = now();
      let settled;
      try {
        settled = await host.callMany(TYPES_LIB, ADD, argsList);
      } catch (error) {
        return { callsPerSecond: null, inputs, error: errorRecord(error) };
      }
      const seconds = (now() - start) / 1e3;
      const wrong = check(settled, inputs);
      if (wrong) return { callsPerSecond: null, inputs, seconds, error: { code: null, message: wrong } };
      perSecond.push(inputs / seconds);
    }
    return { callsPerSecond: Math.max(...perSecond), rounds: perSecond, inputs };
  } finally {
    await host.close();
  }
}

/** Says what is wrong with callMany's answer, or undefined when every entry is add(i, 1). */
function check(settled, inputs) {
  if (!Array.isArray(settled)) return `callMany resolved to ${typeof settled}, not an array`;
  if (settled.length !== inputs) return `callMany resolved to ${settled.length} entries for ${inputs} inputs`;
  for (let i = 0; i < inputs; i++) {
    const entry = settled[i];
    if (entry?.status === 'rejected') return `input ${i} was rejected: ${entry.reason?.code ?? ''} ${entry.reason?.message ?? entry.reason}`;
    if (entry?.status !== 'fulfilled' || entry.value !== i + 1) return `input ${i}: expected { status: 'fulfilled', value: ${i + 1} }, got ${JSON.stringify(entry)}`;
  }
  return undefined;
}
