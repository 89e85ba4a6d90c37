// Figure 7: from createHost() to the first call's result, a fresh host each time (closed after),
// against the floor: spawning the raw pipe child to its first result. Medians.
import { createHost } from '@airlock/host';
import { ADD, TYPES_LIB, expectEqual, median, now } from '../lib/common.mjs';
import { spawnRawPipe } from '../lib/subjects.mjs';

export async function coldStart(runs = 5) {
  const airlock = [];
  const raw = [];
  for (let run = 0; run < runs; run++) {
    let start = now();
    const host = createHost();
    expectEqual(await host.call(TYPES_LIB, ADD, [2, 3]), 5, 'first call');
    airlock.push(now() - start);
    await host.close();

    start = now();
    const pipe = spawnRawPipe();
    expectEqual(await pipe.call(2, 3), 5, 'first raw pipe call');
    raw.push(now() - start);
    await pipe.close();
  }
  return { ms: median(airlock), runs: airlock, rawPipeMs: median(raw), rawPipeRuns: raw };
}
