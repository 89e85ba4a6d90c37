// Figure 13: what the sandbox costs. A sandboxed cold start (createHost({ sandbox: true }) to the
// first result) against an unsandboxed one, interleaved, medians of 5; and sequential calls on a
// warm sandboxed host against a warm unsandboxed one, interleaved rounds, best round. A machine
// without bubblewrap (or user namespaces) records the error instead.
import { createHost } from '@airlock/host';
import { firstResultMs } from '../lib/first-result.mjs';
import { ADD, CALLS, TYPES_LIB, errorRecord, median, progress, timeSequential } from '../lib/common.mjs';

export async function sandbox(runs = 5, rounds = 3) {
  const plain = [];
  const boxed = [];
  try {
    for (let run = 0; run < runs; run++) {
      plain.push(await firstResultMs({}));
      boxed.push(await firstResultMs({ sandbox: true }));
    }
  } catch (error) {
    return { error: errorRecord(error) };
  }
  const hosts = { plain: createHost(), boxed: createHost({ sandbox: true }) };
  const perCall = { plain: [], boxed: [] };
  try {
    for (const host of Object.values(hosts)) for (let i = 0; i < 200; i++) await host.call(TYPES_LIB, ADD, [i, 1]);
    for (let round = 0; round < rounds; round++) {
      for (const [name, host] of Object.entries(hosts)) {
        progress(`${name === 'boxed' ? 'sandboxed' : 'unsandboxed'} sequential, round ${round + 1}/${rounds}`);
        perCall[name].push(await timeSequential((a, b) => host.call(TYPES_LIB, ADD, [a, b]), CALLS));
      }
    }
  } finally {
    await Promise.all(Object.values(hosts).map((host) => host.close()));
  }
  return {
    coldStartMs: median(boxed),
    coldStartRuns: boxed,
    plainColdStartMs: median(plain),
    plainColdStartRuns: plain,
    usPerCall: Math.min(...perCall.boxed),
    plainUsPerCall: Math.min(...perCall.plain),
    rounds: perCall,
  };
}
