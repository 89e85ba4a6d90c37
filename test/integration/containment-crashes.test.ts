// Containment, crashes: every way a plugin can kill its worker is reported with its exact code
// and fields, through the API and through plugin-run, and the same host serves the next call.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { HOSTILE, cli, closeHosts, failure, settleWithin, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

/** The same host answers correctly after a failure. */
async function expectServes(host: ReturnType<typeof trackedHost>): Promise<void> {
  expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
}

describe('crashes by signal', () => {
  const cases: Array<[string, string]> = [
    ['int crash_segv(void)', 'SIGSEGV'],
    ['int crash_bus(void)', 'SIGBUS'],
    ['int crash_fpe(void)', 'SIGFPE'],
    ['int crash_ill(void)', 'SIGILL'],
    ['int crash_abort(void)', 'SIGABRT'],
    ['int crash_stack_overflow(void)', 'SIGSEGV'],
    ['int kill_self(void)', 'SIGKILL'],
  ];

  it.each(cases)('%s is CRASHED with %s, and the host goes on', async (fn, signal) => {
    const host = trackedHost();
    const error = await failure(host.call(HOSTILE(), fn));
    expect(error.code).toBe('CRASHED');
    expect(error.signal).toBe(signal);
    expect(error.exitCode).toBeUndefined();
    expect(error.limit).toBeUndefined();
    expect(error.workerPid).toBeGreaterThan(0);
    expect(error.output).toEqual([]);
    expect(error.message).toContain(signal);
    expect(error.message).toContain(fn);
    await expectServes(host);
    expect(host.workerPids).not.toContain(error.workerPid);
  });

  it('a plugin that SIGKILLs itself is a crash, not a timeout, even with a timeout set', async () => {
    const host = trackedHost({ limits: { timeoutMs: 20_000 } });
    const run = await settleWithin(host.call(HOSTILE(), 'int kill_self(void)'), 10_000);
    expect(run.settled).toBe(true);
    const error = run.error as { code: string; signal: string };
    expect(error.code).toBe('CRASHED');
    expect(error.signal).toBe('SIGKILL');
  });
});

describe('exits during a call', () => {
  it.each([
    ['int exit_with(int)', 5],
    ['int exit_with(int)', 0],
    ['int underscore_exit_with(int)', 6],
    ['int underscore_exit_with(int)', 0],
  ])('%s(%i) is CRASHED with exitCode, never PROTOCOL_ERROR', async (fn, code) => {
    const host = trackedHost();
    const error = await failure(host.call(HOSTILE(), fn, [code]));
    expect(error.code).toBe('CRASHED');
    expect(error.exitCode).toBe(code);
    expect(error.signal).toBeUndefined();
    expect(error.message).toContain(`status ${code}`);
    await expectServes(host);
  });

  it('an exit under limits (memory watcher thread running) is still CRASHED with its status', async () => {
    const host = trackedHost({ limits: { memoryBytes: 64 << 20, cpuMs: 5000, maxOpenFiles: 64 } });
    for (const fn of ['int exit_with(int)', 'int underscore_exit_with(int)']) {
      const error = await failure(host.call(HOSTILE(), fn, [3]));
      expect([error.code, error.exitCode]).toEqual(['CRASHED', 3]);
    }
    await expectServes(host);
  });
});

describe('attacks on the channel', () => {
  it('closing fds 0 and 1 cannot reach the channel: the call succeeds and the next works', async () => {
    const host = trackedHost();
    expect(await host.call(HOSTILE(), 'int close_stdio(void)')).toBe(7);
    expect(await host.call(HOSTILE(), 'int close_stdio(void)')).toBe(7);
    await expectServes(host);
  });

  it('closing every fd kills the channel: CRASHED or PROTOCOL_ERROR within seconds, then the host goes on', async () => {
    const host = trackedHost();
    const run = await settleWithin(host.call(HOSTILE(), 'int close_all_fds(void)'), 10_000);
    expect(run.settled, 'close_all_fds settles').toBe(true);
    const error = run.error as { code: string; signal?: string };
    expect(['CRASHED', 'PROTOCOL_ERROR']).toContain(error.code);
    await expectServes(host);
  });
});

describe('libraries that fail while loading', () => {
  it('a constructor that crashes is CRASHED (SIGSEGV), and the host goes on', async () => {
    const host = trackedHost();
    const error = await failure(host.call(fixture('ctor_crash'), 'int ctor_crash_dummy(void)'));
    expect(error.code).toBe('CRASHED');
    expect(error.signal).toBe('SIGSEGV');
    await expectServes(host);
  });

  it('a constructor that hangs is TIMEOUT, and the host goes on', async () => {
    const host = trackedHost();
    const run = await settleWithin(host.call(fixture('ctor_hang'), 'int ctor_hang_dummy(void)', [], { timeoutMs: 1000 }), 10_000);
    expect(run.settled).toBe(true);
    expect((run.error as { code: string }).code).toBe('TIMEOUT');
    await expectServes(host);
  });

  it('a missing library is LOAD_ERROR, and the worker survives it', async () => {
    const host = trackedHost();
    // A worker that failed to load a library serves none yet: the next library's call takes it.
    const error = await failure(host.call('/nonexistent/libnothing.so', 'int f(void)'));
    expect(error.code).toBe('LOAD_ERROR');
    const [pid] = host.workerPids;
    await expectServes(host);
    expect(host.workerPids).toEqual([pid]);
  });
});

describe('many crashes on one host', () => {
  it('100 consecutive crashes are each CRASHED, and the host then answers correctly', { timeout: 180_000 }, async () => {
    const host = trackedHost();
    const kinds: Array<[string, unknown[], string]> = [
      ['int crash_segv(void)', [], 'SIGSEGV'],
      ['int crash_abort(void)', [], 'SIGABRT'],
      ['int kill_self(void)', [], 'SIGKILL'],
      ['int crash_fpe(void)', [], 'SIGFPE'],
    ];
    const start = performance.now();
    const pids = new Set<number>();
    for (let i = 0; i < 100; i += 1) {
      const [fn, args, signal] = kinds[i % kinds.length]!;
      const error = await failure(host.call(HOSTILE(), fn, args));
      expect([i, error.code, error.signal]).toEqual([i, 'CRASHED', signal]);
      pids.add(error.workerPid!);
    }
    const ms = performance.now() - start;
    expect(pids.size).toBe(100);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [2])).toBe(2);
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(1);
    console.log(`[measure] 100 crashes on one host: ${Math.round(ms)} ms (${Math.round(ms / 100)} ms per crash and restart)`);
  });

  it('crashes in parallel with good calls on a two-worker host: every call gets its own outcome', { timeout: 120_000 }, async () => {
    const host = trackedHost({ workers: 2 });
    const calls = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? host.call(HOSTILE(), 'int crash_segv(void)').then(
            () => 'resolved',
            (e: { code: string; signal: string }) => `${e.code}/${e.signal}`,
          )
        : host.call(HOSTILE(), 'int sleep_ms(int)', [i]).then(String, (e: { code: string }) => `failed ${e.code}`),
    );
    const outcomes = await Promise.all(calls);
    outcomes.forEach((outcome, i) => expect([i, outcome]).toEqual([i, i % 2 === 0 ? 'CRASHED/SIGSEGV' : String(i)]));
  });
});

describe('through plugin-run', () => {
  const lib = () => HOSTILE();
  it.each([
    ['int crash_segv(void)', [], 'SIGSEGV'],
    ['int crash_bus(void)', [], 'SIGBUS'],
    ['int crash_fpe(void)', [], 'SIGFPE'],
    ['int crash_ill(void)', [], 'SIGILL'],
    ['int crash_abort(void)', [], 'SIGABRT'],
    ['int crash_stack_overflow(void)', [], 'SIGSEGV'],
    ['int kill_self(void)', [], 'SIGKILL'],
  ])('%s exits 3 with CRASHED/%s', async (fn, args, signal) => {
    const run = await cli(['call', '--json', lib(), fn, ...args]);
    expect(run.status).toBe(3);
    expect(run.json?.ok).toBe(false);
    expect(run.json?.error).toMatchObject({ code: 'CRASHED', signal });
  });

  it('exit(5) and _exit(6) exit 3 with CRASHED and their exitCode', async () => {
    const exit = await cli(['call', '--json', lib(), 'int exit_with(int)', '5']);
    expect([exit.status, exit.json?.error?.code, exit.json?.error?.exitCode]).toEqual([3, 'CRASHED', 5]);
    const underscore = await cli(['call', '--json', lib(), 'int underscore_exit_with(int)', '6']);
    expect([underscore.status, underscore.json?.error?.code, underscore.json?.error?.exitCode]).toEqual([3, 'CRASHED', 6]);
  });

  it('plain output: the code and the signal on stderr, nothing on stdout', async () => {
    const run = await cli(['call', lib(), 'int crash_segv(void)']);
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/CRASHED \(signal SIGSEGV\)/);
  });

  it('close_stdio succeeds (7), close_all_fds is CRASHED or PROTOCOL_ERROR within seconds', async () => {
    const ok = await cli(['call', '--json', lib(), 'int close_stdio(void)']);
    expect([ok.status, ok.json]).toEqual([0, { ok: true, result: 7 }]);
    const closed = await cli(['call', '--json', lib(), 'int close_all_fds(void)'], 20_000);
    expect([3, 7]).toContain(closed.status);
    expect(['CRASHED', 'PROTOCOL_ERROR']).toContain(closed.json?.error?.code);
  });

  it('a crashing constructor exits 3, a hanging one exits 4 under --timeout', async () => {
    const crash = await cli(['call', '--json', fixture('ctor_crash'), 'int ctor_crash_dummy(void)']);
    expect([crash.status, crash.json?.error?.code, crash.json?.error?.signal]).toEqual([3, 'CRASHED', 'SIGSEGV']);
    const hang = await cli(['call', '--json', '--timeout', '1s', fixture('ctor_hang'), 'int ctor_hang_dummy(void)']);
    expect([hang.status, hang.json?.error?.code]).toEqual([4, 'TIMEOUT']);
  });
});
