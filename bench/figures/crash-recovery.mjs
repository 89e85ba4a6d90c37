// Figure 8: a call that segfaults its worker, then at once (in its rejection handler) an
// innocent call: the time from the rejection to the innocent call's result. Crashes in a row,
// no pause between them; the median counts. With the default host (standby 'auto'), and with
// `standby: 0` if the host accepts that option (null when it refuses it with INVALID_ARGUMENT).
import { createHost } from '@airlock/host';
import { ADD, HOSTILE_LIB, TYPES_LIB, errorRecord, expectEqual, median, now, sleep } from '../lib/common.mjs';

const CRASH = 'int crash_segv(void)';

export async function crashRecovery(options = {}, crashes = 9) {
  let host;
  try {
    host = createHost(options);
  } catch (error) {
    if (error?.code === 'INVALID_ARGUMENT') return { ms: null, options, error: errorRecord(error) };
    throw error;
  }
  try {
    expectEqual(await host.call(TYPES_LIB, ADD, [1, 1]), 2, 'warm call');
    await sleep(500); // the same settling time for every host, so whatever it starts ahead can be ready
    const runs = [];
    for (let i = 0; i < crashes; i++) runs.push(await crashThenCall(host, i));
    return { ms: median(runs), runs, options };
  } finally {
    await host.close();
  }
}

async function crashThenCall(host, i) {
  let rejectedAt;
  const innocent = await host.call(HOSTILE_LIB, CRASH).then(
    () => {
      throw new Error('crash_segv returned');
    },
    (error) => {
      rejectedAt = now();
      if (error?.code !== 'CRASHED' || error.signal !== 'SIGSEGV') throw new Error(`crash_segv: expected CRASHED SIGSEGV, got ${error?.code} ${error?.signal}: ${error?.message}`);
      return host.call(TYPES_LIB, ADD, [i, 1]);
    },
  );
  const ms = now() - rejectedAt;
  expectEqual(innocent, i + 1, 'innocent call after a crash');
  return ms;
}
