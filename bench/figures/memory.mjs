// Figure 11: resident memory of the host and of its worker before and after many string calls
// (a leak on either side shows as growth). The baseline is each process's RSS before.
import { createHost } from '@airlock/host';
import { ADD, CALLS, TYPES_LIB, expectEqual, rssMiB } from '../lib/common.mjs';

export async function memory(calls = CALLS * 4) {
  const host = createHost({ workers: 1 });
  try {
    for (let i = 0; i < 2000; i++) await host.call(TYPES_LIB, ADD, [i, 1]);
    const worker = host.workerPids[0];
    globalThis.gc?.();
    const before = { host: rssMiB(process.pid), worker: rssMiB(worker) };
    for (let i = 0; i < calls; i++) expectEqual(await host.call(TYPES_LIB, 'char *str_upper(const char *s)', ['memory']), 'MEMORY', 'str_upper');
    globalThis.gc?.();
    if (host.workerPids[0] !== worker) throw new Error('the worker was replaced during the memory run: its growth cannot be read');
    const after = { host: rssMiB(process.pid), worker: rssMiB(worker) };
    return { calls, before, after, growthMiB: { host: after.host - before.host, worker: after.worker - before.worker } };
  } finally {
    await host.close();
  }
}
