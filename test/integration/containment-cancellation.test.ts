// Containment, cancellation: an AbortSignal stops a call wherever it is (waiting, starting its
// worker, running native code) and the call settles with CANCELLED at once.
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../helpers/fixtures.js';
import { HOSTILE, closeHosts, failure, settleWithin, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a running call', () => {
  it.each(['int spin_forever(void)', 'int sleep_forever(void)'])(
    'aborting %s settles CANCELLED at once, its worker is killed, and the host goes on',
    async (fn) => {
      const host = trackedHost({ limits: { timeoutMs: 60_000 } });
      expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
      const [pid] = host.workerPids;
      const controller = new AbortController();
      const call = host.call(HOSTILE(), fn, [], { signal: controller.signal });
      await later(300);
      const reason = new Error('the user gave up');
      controller.abort(reason);
      const run = await settleWithin(call, 5_000);
      expect(run.settled).toBe(true);
      const error = run.error as { code: string; workerPid: number; cause: unknown; message: string };
      expect(error.code).toBe('CANCELLED');
      expect(error.workerPid).toBe(pid);
      expect(error.cause).toBe(reason);
      console.log(`[measure] abort of ${fn} settled in ${run.ms.toFixed(1)} ms`);
      expect(run.ms).toBeLessThan(3_000);
      await expect.poll(() => isAlive(pid!), { timeout: 5_000 }).toBe(false);
      expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
      expect(host.workerPids).not.toContain(pid);
    },
  );

  it('a call that finishes before the abort keeps its result; aborting afterwards changes nothing', async () => {
    const host = trackedHost();
    const controller = new AbortController();
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [5], { signal: controller.signal })).toBe(5);
    const [pid] = host.workerPids;
    controller.abort();
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    expect(host.workerPids).toEqual([pid]);
  });
});

describe('a call that has not started', () => {
  it('an already aborted signal rejects at once with CANCELLED, without touching a worker', async () => {
    const host = trackedHost();
    const error = await failure(host.call(HOSTILE(), 'int sleep_ms(int)', [1], { signal: AbortSignal.abort() }));
    expect(error.code).toBe('CANCELLED');
    expect(host.workerPids).toEqual([]);
  });

  it('a call waiting for a busy worker is CANCELLED at once; the running call is unaffected', async () => {
    const host = trackedHost({ workers: 1 });
    const running = host.call(HOSTILE(), 'int sleep_ms(int)', [1500]);
    await later(200);
    const controller = new AbortController();
    const waiting = host.call(HOSTILE(), 'int sleep_ms(int)', [1], { signal: controller.signal });
    await later(50);
    controller.abort();
    const run = await settleWithin(waiting, 1_000);
    expect(run.settled).toBe(true);
    expect((run.error as { code: string }).code).toBe('CANCELLED');
    expect(await running).toBe(1500);
  });

  it('a call aborted while its worker starts settles at once; the worker serves the next call', async () => {
    const host = trackedHost();
    const controller = new AbortController();
    const call = host.call(HOSTILE(), 'int sleep_ms(int)', [1], { signal: controller.signal });
    await later(10);
    controller.abort();
    const run = await settleWithin(call, 1_000);
    expect(run.settled).toBe(true);
    expect((run.error as { code: string }).code).toBe('CANCELLED');
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [2])).toBe(2);
  });
});

describe('many cancellations', () => {
  it('20 aborted calls in a row each settle CANCELLED, then the host answers', { timeout: 120_000 }, async () => {
    const host = trackedHost({ workers: 2, limits: { timeoutMs: 60_000 } });
    for (let i = 0; i < 20; i += 1) {
      const controller = new AbortController();
      const call = host.call(HOSTILE(), i % 2 ? 'int spin_forever(void)' : 'int sleep_forever(void)', [], { signal: controller.signal });
      setTimeout(() => controller.abort(), 20 + (i % 5) * 40);
      const run = await settleWithin(call, 10_000);
      expect([i, run.settled, (run.error as { code?: string } | undefined)?.code]).toEqual([i, true, 'CANCELLED']);
    }
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
  });
});
