// Containment, limits: each limit as a host default and as a per-call override, through the API
// and plugin-run; a plugin within its limits is unaffected, one over them gets the exact code.
import { readFileSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HOSTILE, cli, closeHosts, expectNothingLeft, failure, settleWithin, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const MiB = 1024 * 1024;

describe('timeoutMs', () => {
  it.each(['int spin_forever(void)', 'int sleep_forever(void)'])('%s is TIMEOUT promptly, and the host goes on', async (fn) => {
    const host = trackedHost();
    const run = await settleWithin(host.call(HOSTILE(), fn, [], { timeoutMs: 500 }), 10_000);
    expect(run.settled).toBe(true);
    const error = run.error as { code: string; signal?: string; limit?: string; message: string };
    expect(error.code).toBe('TIMEOUT');
    expect(error.signal).toBeUndefined();
    expect(error.limit).toBeUndefined();
    expect(error.message).toContain('500 ms');
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
  });

  it('a host default applies to every call, a per-call override wins', async () => {
    const host = trackedHost({ limits: { timeoutMs: 400 } });
    expect((await failure(host.call(HOSTILE(), 'int sleep_ms(int)', [1500]))).code).toBe('TIMEOUT');
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [800], { timeoutMs: 10_000 })).toBe(800);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [50])).toBe(50);
  });

  it('plugin-run --timeout exits 4', async () => {
    const run = await cli(['call', '--json', '--timeout', '500ms', HOSTILE(), 'int sleep_forever(void)']);
    expect([run.status, run.json?.error?.code]).toEqual([4, 'TIMEOUT']);
  });
});

describe('cpuMs', () => {
  it('a spinning plugin is LIMIT_EXCEEDED/cpu (before its wall-clock timeout)', async () => {
    const host = trackedHost({ limits: { timeoutMs: 20_000 } });
    const run = await settleWithin(host.call(HOSTILE(), 'int spin_forever(void)', [], { cpuMs: 300 }), 15_000);
    expect(run.settled).toBe(true);
    const error = run.error as { code: string; limit: string };
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'cpu']);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
  });

  it('a plugin within its CPU budget is unaffected; a sleeping one uses none (it times out instead)', async () => {
    const host = trackedHost({ limits: { cpuMs: 3000 } });
    expect(await host.call(HOSTILE(), 'int cpu_burn_ms(int)', [100])).toBe(100);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [300], { cpuMs: 100 })).toBe(300);
    expect((await failure(host.call(HOSTILE(), 'int sleep_forever(void)', [], { cpuMs: 100, timeoutMs: 500 }))).code).toBe('TIMEOUT');
  });

  it('plugin-run --cpu exits 5 with limit cpu', async () => {
    const run = await cli(['call', '--json', '--cpu', '300ms', HOSTILE(), 'int spin_forever(void)']);
    expect([run.status, run.json?.error?.code, run.json?.error?.limit]).toEqual([5, 'LIMIT_EXCEEDED', 'cpu']);
  });
});

describe('memoryBytes', () => {
  it('a malloc bomb that ignores NULL and segfaults is LIMIT_EXCEEDED/memory, every time', async () => {
    const host = trackedHost();
    for (const budget of [16 * MiB, 64 * MiB, 256 * MiB]) {
      for (let i = 0; i < 2; i += 1) {
        const error = await failure(host.call(HOSTILE(), 'int malloc_bomb(void)', [], { memoryBytes: budget }));
        expect([budget, error.code, error.limit]).toEqual([budget, 'LIMIT_EXCEEDED', 'memory']);
      }
    }
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
  });

  it("a host whose calls have a memory limit gets workers whose memory watcher runs before their first call (its start is the worker's, not the call's)", async () => {
    const threadNames = (pid: number) =>
      readdirSync(`/proc/${pid}/task`).map((task) => {
        try {
          return readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim();
        } catch {
          return '';
        }
      });
    const limited = trackedHost({ eager: true, limits: { memoryBytes: 64 * MiB } });
    await expect.poll(() => limited.workerPids.length, { timeout: 15_000 }).toBe(1);
    expect(threadNames(limited.workerPids[0]!)).toContain('airlock-watch');
    const error = await failure(limited.call(HOSTILE(), 'int malloc_bomb(void)', []));
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'memory']);
    expect(await limited.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    // Without a host-wide memory limit, the thread starts with the first call that has one.
    const plain = trackedHost({ eager: true });
    await expect.poll(() => plain.workerPids.length, { timeout: 15_000 }).toBe(1);
    const [pid] = plain.workerPids;
    expect(threadNames(pid!)).not.toContain('airlock-watch');
    expect(await plain.call(HOSTILE(), 'int sleep_ms(int)', [1], { memoryBytes: 64 * MiB })).toBe(1);
    expect(plain.workerPids).toEqual([pid]);
    expect(threadNames(pid!)).toContain('airlock-watch');
  });

  it('the worker itself witnesses memory pressure: classified right even when the host does not sample', async () => {
    // watchIntervalMs far beyond the call: only the worker's watcher thread can see the bomb.
    const host = trackedHost({ watchIntervalMs: 600_000 });
    for (let i = 0; i < 3; i += 1) {
      const error = await failure(host.call(HOSTILE(), 'int malloc_bomb(void)', [], { memoryBytes: 32 * MiB }));
      expect([error.code, error.limit, error.signal]).toEqual(['LIMIT_EXCEEDED', 'memory', 'SIGSEGV']);
    }
  });

  it('the budget is on top of the worker: a plugin within it is unaffected; past it malloc returns NULL', async () => {
    const host = trackedHost({ limits: { memoryBytes: 64 * MiB } });
    expect(await host.call(HOSTILE(), 'int malloc_within(int)', [48])).toBe(48);
    expect(await host.call(HOSTILE(), 'int malloc_checked(int)', [32])).toBe(0);
    expect(await host.call(HOSTILE(), 'int malloc_checked(int)', [128])).toBe(-1);
    // Per-call override, larger and smaller than the default.
    expect(await host.call(HOSTILE(), 'int malloc_within(int)', [200], { memoryBytes: 256 * MiB })).toBe(200);
    // (Past the budget by more than the free memory malloc already holds in a worker, which it
    // may hand out again without mapping more: RLIMIT_DATA counts mappings.)
    expect(await host.call(HOSTILE(), 'int malloc_checked(int)', [96], { memoryBytes: 16 * MiB })).toBe(-1);
    // The limit is lifted between calls: a later library load is not starved.
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(1);
  });

  it('an unrelated crash under a memory limit is still CRASHED (no false memory blame)', async () => {
    const host = trackedHost({ limits: { memoryBytes: 64 * MiB } });
    for (const [fn, signal] of [
      ['int crash_segv(void)', 'SIGSEGV'],
      ['int crash_abort(void)', 'SIGABRT'],
      ['int kill_self(void)', 'SIGKILL'],
    ] as const) {
      const error = await failure(host.call(HOSTILE(), fn));
      expect([fn, error.code, error.signal, error.limit]).toEqual([fn, 'CRASHED', signal, undefined]);
    }
  });

  it('plugin-run --memory exits 5 with limit memory', async () => {
    const run = await cli(['call', '--json', '--memory', '64M', HOSTILE(), 'int malloc_bomb(void)']);
    expect([run.status, run.json?.error?.code, run.json?.error?.limit]).toEqual([5, 'LIMIT_EXCEEDED', 'memory']);
    const within = await cli(['call', '--json', '--memory', '64M', HOSTILE(), 'int malloc_within(int)', '32']);
    expect([within.status, within.json]).toEqual([0, { ok: true, result: 32 }]);
  });
});

describe('maxOpenFiles', () => {
  it('opening past the budget fails (EMFILE), within it succeeds; the worker is unaffected', async () => {
    const host = trackedHost({ limits: { maxOpenFiles: 10 } });
    expect(await host.call(HOSTILE(), 'int open_files(int)', [10])).toBe(10);
    expect(await host.call(HOSTILE(), 'int open_files(int)', [11])).toBe(-24);
    expect(await host.call(HOSTILE(), 'int open_files(int)', [40], { maxOpenFiles: 40 })).toBe(40);
    expect(await host.call(HOSTILE(), 'int open_files(int)', [3], { maxOpenFiles: 2 })).toBe(-24);
    // A call without the limit is not held to an earlier call's.
    const free = trackedHost();
    expect(await free.call(HOSTILE(), 'int open_files(int)', [300])).toBe(300);
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(1);
  });

  it('plugin-run --max-open-files: the plugin sees EMFILE past the budget', async () => {
    const over = await cli(['call', '--json', '--max-open-files', '10', HOSTILE(), 'int open_files(int)', '11']);
    expect([over.status, over.json]).toEqual([0, { ok: true, result: -24 }]);
    const within = await cli(['call', '--json', '--max-open-files', '10', HOSTILE(), 'int open_files(int)', '10']);
    expect([within.status, within.json]).toEqual([0, { ok: true, result: 10 }]);
  });
});

describe('maxProcesses (as root, where RLIMIT_NPROC does not bind)', () => {
  it('a fork bomb is stopped as LIMIT_EXCEEDED/processes and leaves no process', async () => {
    const host = trackedHost({ limits: { timeoutMs: 20_000 } });
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1); // the worker is up: time the bomb alone
    const run = await settleWithin(host.call(HOSTILE(), 'int fork_bomb(void)', [], { maxProcesses: 8 }), 15_000);
    expect(run.settled).toBe(true);
    const error = run.error as { code: string; limit: string; message: string };
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'processes']);
    console.log(`[measure] fork bomb under maxProcesses 8: settled in ${Math.round(run.ms)} ms; ${/\((\d+) processes/.exec(error.message)?.[1]} processes seen`);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    await host.close();
    await expectNothingLeft();
  });

  it('threads and children count too, even when the call returns at once', async () => {
    const host = trackedHost({ limits: { maxProcesses: 8 } });
    const threads = await failure(host.call(HOSTILE(), 'int spawn_threads(int)', [20]));
    expect([threads.code, threads.limit]).toEqual(['LIMIT_EXCEEDED', 'processes']);
    const children = await failure(host.call(HOSTILE(), 'int spawn_children(int)', [20]));
    expect([children.code, children.limit]).toEqual(['LIMIT_EXCEEDED', 'processes']);
  });

  it('a plugin within the budget is unaffected, and what it left running does not count against the next call', async () => {
    const host = trackedHost({ limits: { maxProcesses: 8 } });
    expect(await host.call(HOSTILE(), 'int spawn_children(int)', [3])).toBe(3);
    expect(await host.call(HOSTILE(), 'int spawn_threads(int)', [4])).toBe(4);
    expect(await host.call(HOSTILE(), 'int spawn_children(int)', [5])).toBe(5);
    // A first call with a memory limit starts the worker's own watcher thread: not the plugin's.
    expect(await host.call(HOSTILE(), 'int spawn_threads(int)', [8], { memoryBytes: 64 * MiB })).toBe(8);
    // Closing the host kills what the plugin left (checked by afterEach).
  });

  it('plugin-run --max-processes 8 stops a fork bomb (exit 5) and leaves no process', async () => {
    const run = await cli(['call', '--json', '--max-processes', '8', HOSTILE(), 'int fork_bomb(void)']);
    expect([run.status, run.json?.error?.code, run.json?.error?.limit]).toEqual([5, 'LIMIT_EXCEEDED', 'processes']);
  });
});

describe('maxOutputBytes', () => {
  it('a stdout flood is LIMIT_EXCEEDED/output; within the budget output is fine', async () => {
    const host = trackedHost({ limits: { maxOutputBytes: 64 * 1024 } });
    const error = await failure(host.call(HOSTILE(), 'int flood_stdout(int)', [8]));
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'output']);
    expect(error.output!.length).toBeGreaterThan(0);
    expect(error.output!.length).toBeLessThanOrEqual(20);
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [3])).toBe(3);
    expect(await host.call(HOSTILE(), 'int flood_stdout(int)', [1], { maxOutputBytes: 2 * MiB })).toBe(1);
  });

  it('plugin-run --max-output 64K: a flood exits 5 with limit output', async () => {
    const run = await cli(['call', '--json', '--log-level', 'error', '--max-output', '64K', HOSTILE(), 'int flood_stdout(int)', '8']);
    expect([run.status, run.json?.error?.code, run.json?.error?.limit]).toEqual([5, 'LIMIT_EXCEEDED', 'output']);
  });
});

describe('limits together', () => {
  it('every limit at once on a well-behaved call changes nothing', async () => {
    const host = trackedHost({
      limits: { timeoutMs: 10_000, cpuMs: 5_000, memoryBytes: 128 * MiB, maxOpenFiles: 32, maxProcesses: 8, maxOutputBytes: 1 * MiB },
    });
    for (let i = 0; i < 5; i += 1) {
      expect(await host.call(HOSTILE(), 'int malloc_within(int)', [16])).toBe(16);
      expect(await host.call(HOSTILE(), 'int open_files(int)', [16])).toBe(16);
      expect(await host.call(HOSTILE(), 'int print_and_return(int)', [i])).toBe(i);
    }
  });
});
