import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError, createHost, type Host } from '@airlock/host';
import { failure, fixture } from '../helpers/fixtures.js';

const hosts: Host[] = [];
function host(options: Parameters<typeof createHost>[0]): Host {
  const created = createHost(options);
  hosts.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

const ADD = 'int add(int a, int b)';

describe('pipelining (several calls sent to a worker ahead of its answer)', () => {
  it('calls that find a worker ready run at once, and the queue leaves them their slots: no more workers than slots, no worker past its pipeline', async () => {
    const h = host({ workers: 2, pipeline: 3 });
    const starts: number[] = [];
    h.on('worker-start', (event) => starts.push(event.pid));
    // Both slots get their worker (a second call finds one slot empty and starts it).
    expect(await Promise.all([h.call(fixture('hostile'), 'int sleep_ms(int)', [30]), h.call(fixture('hostile'), 'int sleep_ms(int)', [30])])).toEqual([30, 30]);
    expect(starts).toHaveLength(2);
    const calls = Array.from({ length: 20 }, (_, i) => h.call(fixture('hostile'), 'int sleep_ms(int)', [10 + i]));
    // Issued in one turn: three on each worker at once, the other fourteen wait in the queue.
    expect(h.stats()).toMatchObject({ queued: 14, running: 6 });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, h.stats().running)), 2);
    try {
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeLessThanOrEqual(6);
    expect(h.stats()).toMatchObject({ queued: 0, running: 0 });
    expect(starts).toHaveLength(2);
    // One at a time (pipeline 1): the idle worker takes the first call, the others wait for it.
    const single = host({ workers: 1, pipeline: 1 });
    expect(await single.call(fixture('hostile'), 'int sleep_ms(int)', [1])).toBe(1);
    const one = [5, 6, 7].map((ms) => single.call(fixture('hostile'), 'int sleep_ms(int)', [ms]));
    expect(single.stats()).toMatchObject({ queued: 2, running: 1, workers: { busy: 1, idle: 0, starting: 0 } });
    expect(await Promise.all(one)).toEqual([5, 6, 7]);
    expect(single.workerPids).toHaveLength(1);
  });

  it('returns the right value to every caller with 64 in flight', async () => {
    const h = host({ workers: 2, pipeline: 8 });
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => h.call(fixture('types'), ADD, [i, 7])));
    expect(results).toEqual(Array.from({ length: 400 }, (_, i) => i + 7));
    expect(h.workerPids.length).toBeLessThanOrEqual(2);
  });

  it('a call whose library\'s worker is busy takes the place of an idle worker of another library rather than waiting in its pipeline', async () => {
    const h = host({ workers: 2, pipeline: 4 });
    const exits: number[] = [];
    h.on('worker-exit', (event) => exits.push(event.pid));
    expect(await h.call(fixture('types'), ADD, [1, 1])).toBe(2);
    const [typesWorker] = h.workerPids;
    const settled: string[] = [];
    const long = h.call(fixture('hostile'), 'int sleep_ms(int)', [3000]).then((value) => settled.push('long') && value);
    await expect.poll(() => h.workerPids.length, { timeout: 10_000 }).toBe(2);
    // The hostile worker has room for three more, but the pool starts one in the idle types worker's place.
    const short = await h.call(fixture('hostile'), 'int sleep_ms(int)', [5]).then((value) => settled.push('short') && value);
    expect(short).toBe(5);
    expect(settled).toEqual(['short']);
    expect(exits).toContain(typesWorker);
    expect(await long).toBe(3000);
  });

  it('a crash is the crashing call\'s alone: the calls queued behind it run elsewhere, and nothing runs twice', async () => {
    const h = host({ workers: 1, pipeline: 16 });
    await h.call(fixture('types'), ADD, [0, 0]);
    const calls = Array.from({ length: 12 }, (_, i) =>
      i === 4 ? h.call(fixture('hostile'), 'int crash_segv(void)', []) : h.call(fixture('hostile'), 'int sleep_ms(int)', [i]),
    );
    const settled = await Promise.allSettled(calls);
    const crashed = settled.filter((s) => s.status === 'rejected');
    expect(crashed).toHaveLength(1);
    expect((settled[4] as PromiseRejectedResult).reason).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    settled.forEach((s, i) => {
      if (i !== 4) expect(s).toEqual({ status: 'fulfilled', value: i });
    });
  });

  it('a timeout counts from when the call runs, and the calls behind it still run', async () => {
    const h = host({ workers: 1, pipeline: 4 });
    await h.call(fixture('types'), ADD, [0, 0]);
    const slow = h.call(fixture('hostile'), 'int sleep_forever(void)', [], { timeoutMs: 300 });
    const behind = [1, 2, 3].map((i) => h.call(fixture('hostile'), 'int sleep_ms(int)', [100 * i], { timeoutMs: 1000 }));
    expect(await failure(slow)).toMatchObject({ code: 'TIMEOUT' });
    expect(await Promise.all(behind)).toEqual([100, 200, 300]);
  });

  it('a call that ended while the one behind it hangs is not blamed for the hang: it returns, and the hang is TIMEOUT', async () => {
    // The worker runs the quick call, then hangs in the next one: had the quick call's outcome
    // waited to go out with the next one's (as callMany's elements do), its clock would run out
    // on the host while the worker hangs, and the hang would be blamed on it.
    const h = host({ workers: 1, pipeline: 4 });
    await h.call(fixture('hostile'), 'int sleep_ms(int)', [0]);
    // Quicker than callMany's reporting chunk (a millisecond).
    const quick = h.call(fixture('hostile'), 'int abs(int)', [-1], { timeoutMs: 300 });
    const hang = h.call(fixture('hostile'), 'int sleep_forever(void)', [], { timeoutMs: 300 });
    const after = h.call(fixture('hostile'), 'int sleep_ms(int)', [2], { timeoutMs: 300 });
    expect(await quick).toBe(1);
    const error = await failure(hang);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect(error.message).toMatch(/^Timed out after 300 ms while calling int sleep_forever\(void\)/);
    expect(await after).toBe(2);
    expect(await h.call(fixture('hostile'), 'int sleep_ms(int)', [3])).toBe(3);
  });

  it('cancelling a call that ended while the one behind it hangs settles it with its value and kills nothing', async () => {
    const h = host({ workers: 1, pipeline: 4 });
    await h.call(fixture('hostile'), 'int sleep_ms(int)', [0]);
    const [pid] = h.workerPids;
    const controller = new AbortController();
    // Both with a signal: calls issued together go out in the order they take the same path.
    const quick = h.call(fixture('hostile'), 'int abs(int)', [-1], { signal: controller.signal });
    const slow = h.call(fixture('hostile'), 'int sleep_ms(int)', [600], { signal: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    expect(await quick).toBe(1);
    expect(await slow).toBe(600);
    expect(h.workerPids).toEqual([pid]);
  });

  it('a call cancelled while it waits behind another settles at once with CANCELLED', async () => {
    const h = host({ workers: 1, pipeline: 4 });
    const sleep = 'int sleep_ms(int)';
    await h.call(fixture('hostile'), sleep, [0]);
    const first = h.call(fixture('hostile'), sleep, [400]);
    const controller = new AbortController();
    const second = h.call(fixture('hostile'), sleep, [1], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    controller.abort();
    const error = await failure(second);
    expect(error).toBeInstanceOf(AirlockError);
    expect(error.code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(300);
    expect(await first).toBe(400);
    expect(await h.call(fixture('hostile'), sleep, [2])).toBe(2);
  });

  it('rejects a bad pipeline option, naming it', () => {
    expect(() => createHost({ pipeline: 0 })).toThrow(/pipeline/);
  });
});

describe('lingerMicros (a worker looks for the next call before it sleeps)', () => {
  /** CPU a process has used, in clock ticks (utime + stime). */
  const cpuTicks = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** The worker's CPU over 250 ms from one call of add() on a warm, settled worker. */
  async function cpuAfterOneCall(h: Host): Promise<number> {
    expect(await h.call(fixture('types'), ADD, [1, 1])).toBe(2);
    await later(300);
    const [pid] = h.workerPids;
    const before = cpuTicks(pid!);
    expect(await h.call(fixture('types'), ADD, [2, 3])).toBe(5);
    await later(250);
    return cpuTicks(pid!) - before;
  }

  it('keeps a worker looking for its next call that long after its calls (using CPU), and 0 sleeps at once', async () => {
    const lingering = await cpuAfterOneCall(host({ lingerMicros: 100_000 }));
    const sleeping = await cpuAfterOneCall(host({ lingerMicros: 0 }));
    // 100 ms of looking is some 10 ticks of CPU on an idle machine; a loaded one gives it less.
    expect(lingering).toBeGreaterThanOrEqual(2);
    expect(sleeping).toBeLessThanOrEqual(1);
  });

  it('is an integer from 0 to 100 000, or INVALID_ARGUMENT naming it', () => {
    for (const bad of [-1, 1.5, 100_001, '200']) {
      expect(() => createHost({ lingerMicros: bad as number })).toThrow(AirlockError);
      expect(() => createHost({ lingerMicros: bad as number })).toThrow(/lingerMicros/);
    }
  });
});
