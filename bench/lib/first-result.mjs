// A cold start as the figures time it: createHost(options) to the first result, the host closed after.
import { createHost } from '@airlock/host';
import { ADD, TYPES_LIB, expectEqual, now } from './common.mjs';

/** Milliseconds from createHost(options) to the first add's result. */
export async function firstResultMs(options) {
  const start = now();
  const host = createHost(options);
  try {
    expectEqual(await host.call(TYPES_LIB, ADD, [2, 3]), 5, 'first call');
    return now() - start;
  } finally {
    await host.close();
  }
}
