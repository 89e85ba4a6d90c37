// What a host tells about itself: events for workers starting, retiring and exiting and for
// every settled call (with its time, CPU and memory), stats() counts, a bounded queue, workers
// ended when idle, and listeners that throw without harming anything.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallEvent, WorkerExitEvent, WorkerRetireEvent, WorkerStartEvent } from '@airlock/host';
import { fixture, isAlive } from '../helpers/fixtures.js';
import { closeHosts, failure, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const HOSTILE = () => fixture('hostile');
const SLEEP = 'int sleep_ms(int)';

describe('host events', () => {
  it("fire for a worker's start, each settled call (with its measures) and the worker's exit", async () => {
    const host = trackedHost();
    const starts: WorkerStartEvent[] = [];
    const calls: CallEvent[] = [];
    const exits: WorkerExitEvent[] = [];
    host.on('worker-start', (event) => starts.push(event));
    host.on('call', (event) => calls.push(event));
    host.on('worker-exit', (event) => exits.push(event));
    expect(await host.call(HOSTILE(), 'int cpu_burn_ms(int)', [120])).toBe(120);
    const [pid] = host.workerPids;
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ pid, where: 'local' });
    expect(starts[0]!.startMs).toBeGreaterThan(0);
    expect(starts[0]!.startMs).toBeCloseTo(starts[0]!.readyAt - starts[0]!.spawnedAt, 6);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ library: HOSTILE(), fn: 'int cpu_burn_ms(int)', outcome: 'ok', workerPid: pid });
    expect(calls[0]!.durationMs).toBeGreaterThanOrEqual(100);
    expect(calls[0]!.cpuMs).toBeGreaterThanOrEqual(80);
    expect(calls[0]!.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    const crash = await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
    expect(crash.code).toBe('CRASHED');
    expect(calls[1]).toMatchObject({ outcome: 'CRASHED', workerPid: pid });
    await expect.poll(() => exits.length).toBe(1);
    expect(exits[0]).toEqual({ pid, where: 'local', exitCode: null, signal: 'SIGSEGV', reason: 'crashed' });
    // The next call: a new worker (one started for it, or a spare standby 'auto' started after the crash), and its start.
    const next = await host.call(HOSTILE(), 'int getpid(void)');
    expect(next).not.toBe(pid);
    expect(starts.map((start) => start.pid)).toContain(next);
    await host.close();
    // Every worker that started has ended, closed by the host.
    await expect.poll(() => exits.length).toBe(starts.length);
    expect(new Set(exits.map((exit) => exit.pid))).toEqual(new Set(starts.map((start) => start.pid)));
    expect(exits.slice(1).map((exit) => exit.reason)).toEqual(exits.slice(1).map(() => 'closed'));
  });

  it('fire for every callMany element, for calls that never reached a worker, and for retirements', async () => {
    const host = trackedHost({ maxCallsPerWorker: 2 });
    const calls: CallEvent[] = [];
    const retirements: WorkerRetireEvent[] = [];
    host.on('call', (event) => calls.push(event));
    host.on('worker-retire', (event) => retirements.push(event));
    const settled = await host.callMany(HOSTILE(), SLEEP, [[1], [2], [3]]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(calls.map((c) => c.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(retirements[0]!.reason).toBe('it served its 2 call(s) (maxCallsPerWorker)');
    // Refused before any worker: bad arguments.
    await failure(host.call(HOSTILE(), SLEEP, ['x']));
    expect(calls[3]).toEqual({ library: HOSTILE(), fn: SLEEP, outcome: 'INVALID_ARGUMENT', durationMs: 0, cpuMs: undefined, peakRssBytes: undefined, workerPid: undefined });
    // A cancelled call that never ran.
    const controller = new AbortController();
    controller.abort();
    await failure(host.call(HOSTILE(), SLEEP, [1], { signal: controller.signal }));
    expect(calls[4]).toMatchObject({ outcome: 'CANCELLED', durationMs: 0, workerPid: undefined });
    // A callMany refused as a whole before any worker: each element counts.
    const batch = await host.callMany(HOSTILE(), SLEEP, [[1], [2]], { signal: controller.signal });
    expect(batch.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(calls.slice(5).map((c) => [c.outcome, c.workerPid])).toEqual([
      ['CANCELLED', undefined],
      ['CANCELLED', undefined],
    ]);
    expect(host.stats().calls).toMatchObject({ ok: 3, INVALID_ARGUMENT: 1, CANCELLED: 3 });
  });

  it('measure nothing when nobody listens to calls, and count them all the same', async () => {
    const host = trackedHost();
    expect(host.listenerCount('call')).toBe(0);
    expect(await host.call(HOSTILE(), SLEEP, [1])).toBe(1);
    expect(host.stats().calls).toEqual({ ok: 1 });
  });

  it('survive a listener that throws: reported once as a warning, calls go on', async () => {
    const host = trackedHost();
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(`${warning.code}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      host.on('call', () => {
        throw new Error('the listener is broken');
      });
      expect(await host.call(HOSTILE(), SLEEP, [1])).toBe(1);
      expect(await host.call(HOSTILE(), SLEEP, [2])).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warnings).toEqual(["AIRLOCK_CALLBACK_ERROR: airlock: the 'call' listener callback threw (the listener is broken); airlock goes on, and further errors of this callback are not reported"]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('host.stats()', () => {
  it('counts workers, waiting and running calls, and settled calls by outcome', async () => {
    const host = trackedHost({ workers: 1, pipeline: 1 });
    expect(host.stats()).toEqual({ workers: { idle: 0, busy: 0, starting: 0 }, queued: 0, running: 0, calls: { ok: 0 } });
    const running = host.call(HOSTILE(), SLEEP, [1500]);
    const waiting = host.call(HOSTILE(), SLEEP, [1]);
    await expect.poll(() => host.stats().workers.busy, { timeout: 5000 }).toBe(1);
    expect(host.stats()).toMatchObject({ queued: 1, running: 1 });
    expect(await running).toBe(1500);
    expect(await waiting).toBe(1);
    await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
    await failure(host.call(HOSTILE(), SLEEP, []));
    expect(await host.call(HOSTILE(), SLEEP, [1])).toBe(1);
    // Idle: the slot's worker and the two spares standby 'auto' keeps once a worker has crashed.
    await expect.poll(() => host.stats().workers, { timeout: 15_000 }).toEqual({ idle: 3, busy: 0, starting: 0 });
    expect(host.stats()).toEqual({ workers: { idle: 3, busy: 0, starting: 0 }, queued: 0, running: 0, calls: { ok: 3, CRASHED: 1, INVALID_ARGUMENT: 1 } });
  });
});

describe('maxQueue and idleTimeoutMs', () => {
  it('maxQueue refuses the call that would wait past it at once, with UNAVAILABLE; the others run', async () => {
    const host = trackedHost({ workers: 1, pipeline: 1, maxQueue: 1 });
    const first = host.call(HOSTILE(), SLEEP, [200]);
    const second = host.call(HOSTILE(), SLEEP, [1]);
    const third = await failure(host.call(HOSTILE(), SLEEP, [2]));
    expect(third).toMatchObject({ code: 'UNAVAILABLE', details: { queued: 1, maxQueue: 1 } });
    expect(third.message).toBe("The host's queue is full: 1 call(s) wait for a worker (maxQueue 1); try again once some have settled");
    expect(await first).toBe(200);
    expect(await second).toBe(1);
    expect(await host.call(HOSTILE(), SLEEP, [3])).toBe(3);
    expect(host.stats().calls).toEqual({ ok: 3, UNAVAILABLE: 1 });
    expect(() => trackedHost({ maxQueue: -1 })).toThrow(/maxQueue/);
  });

  it('idleTimeoutMs ends a worker left idle; the next call starts another', async () => {
    // Generous against a loaded machine: calls 60 ms apart never leave it idle for 600 ms.
    const host = trackedHost({ idleTimeoutMs: 600 });
    const exits: WorkerExitEvent[] = [];
    host.on('worker-exit', (event) => exits.push(event));
    expect(await host.call(HOSTILE(), SLEEP, [1])).toBe(1);
    const [pid] = host.workerPids;
    // Busy calls keep it: each call starts its idle clock again.
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await host.call(HOSTILE(), SLEEP, [1])).toBe(1);
    }
    expect(host.workerPids).toEqual([pid]);
    await expect.poll(() => exits.length, { timeout: 5000 }).toBe(1);
    expect(exits[0]).toMatchObject({ pid, reason: 'closed' });
    expect(isAlive(pid!)).toBe(false);
    expect(host.workerPids).toEqual([]);
    expect(await host.call(HOSTILE(), SLEEP, [2])).toBe(2);
    expect(host.workerPids).toHaveLength(1);
    expect(host.workerPids).not.toContain(pid);
  });
});

describe('a logger, and output on success', () => {
  it('takes a pino-compatible logger: plugin output at info, worker life and calls with their fields', async () => {
    const logged: Array<[string, Record<string, unknown>, string]> = [];
    const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (fields: Record<string, unknown>, message: string) => logged.push([level, fields, message])])) as never;
    const host = trackedHost({ logger });
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [7])).toBe(7);
    await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
    await expect.poll(() => logged.some(([, , message]) => message === 'airlock worker exited')).toBe(true);
    const [pid] = [logged.find(([, , m]) => m === 'airlock worker started')![1].workerPid];
    expect(logged.find(([level, , m]) => level === 'info' && m.includes('7'))).toEqual(['info', { workerPid: pid, stream: 'stdout' }, expect.stringContaining('7')]);
    expect(logged.filter(([, , m]) => m.startsWith('airlock call')).map(([level, fields, m]) => [level, fields.outcome, m])).toEqual([
      ['debug', 'ok', 'airlock call ok'],
      ['debug', 'CRASHED', 'airlock call CRASHED'],
    ]);
    expect(logged.find(([, , m]) => m === 'airlock worker exited')).toEqual(['warn', { workerPid: pid, reason: 'crashed', exitCode: null, signal: 'SIGSEGV' }, 'airlock worker exited']);
    expect(() => trackedHost({ logger: { info: () => undefined } as never })).toThrow(/logger must have debug, info, warn and error methods/);
  });

  it('callOutput: the call event carries the output of a call that succeeded', async () => {
    const host = trackedHost({ callOutput: true });
    const calls: CallEvent[] = [];
    host.on('call', (event) => calls.push(event));
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [42])).toBe(42);
    expect(calls[0]!.outcome).toBe('ok');
    expect(calls[0]!.output!.join('\n')).toContain('42');
    const plain = trackedHost();
    const quiet: CallEvent[] = [];
    plain.on('call', (event) => quiet.push(event));
    await plain.call(HOSTILE(), 'int print_and_return(int)', [1]);
    expect(quiet[0]!.output).toBeUndefined();
  });
});
