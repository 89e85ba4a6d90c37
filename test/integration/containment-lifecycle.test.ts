// Containment, lifecycle: a worker and all it starts die together, with their host even when the
// host is SIGKILLed; close() never waits forever; repeated start failures trip a breaker that
// closes again by itself; a call that crashed its worker is never replayed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER_ENTRY } from '@airlock/worker';
import { ROOT, fixture, isAlive } from '../helpers/fixtures.js';
import type { AirlockError } from '@airlock/host';

const BLAST = () => fixture('blast');
import {
  FAKE_WORKERS,
  HOSTILE,
  cleanUp,
  expectNothingLeft,
  failure,
  fakeWorker,
  processesOf,
  scratchDirectory,
  settleWithin,
  tempDirsOf,
  trackedHost,
} from './containment-helpers.js';

afterEach(cleanUp);

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process below `pid` (children of every thread, recursively). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${parent}/task/${tid}/children`, 'latin1').split(' ').filter(Boolean).map(Number)) {
          found.push(child);
          queue.push(child);
        }
      } catch {
        /* gone */
      }
    }
  }
  return found;
}

describe('one process group, killed as a whole', () => {
  it('what a call forked and left behind dies with its worker, which retires after that call', async () => {
    const host = trackedHost();
    const child = (await host.call(BLAST(), 'int fork_child(int)', [60])) as number;
    expect(child).toBeGreaterThan(0);
    await expect.poll(() => isAlive(child), { timeout: 5_000 }).toBe(false);
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [1])).toBe(1);
  });

  it('what a running call forked dies with its timed-out worker, and with a closed host', async () => {
    // standby 0: workerPids[0] is the worker running the call (no spare beside it after the timeout).
    const host = trackedHost({ standby: 0 });
    const started = performance.now();
    const error = await failure(host.call(BLAST(), 'int fork_then_sleep(int, int *pids, size_t count)', [3, 0], { timeoutMs: 400 }));
    expect(error.code).toBe('TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    const running = host.call(BLAST(), 'int fork_then_sleep(int, int *pids, size_t count)', [2, 0]).catch((e: AirlockError) => e.code);
    await expect.poll(() => descendants(host.workerPids[0] ?? 0).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    const tree = descendants(host.workerPids[0]!);
    await host.close();
    expect(await running).toBe('CANCELLED');
    // SIGKILLed with the worker's group; on a loaded machine the kernel may take a moment to finish them.
    await expect.poll(() => tree.filter(isAlive), { timeout: 2000 }).toEqual([]);
  });
});

describe('workers die with their host', () => {
  it('a host SIGKILLed while its worker runs a call leaves no worker, no child, no temp dir', async () => {
    const dir = scratchDirectory();
    const script = join(dir, 'host.mjs');
    writeFileSync(
      script,
      [
        `import { createHost } from ${JSON.stringify(join(ROOT, 'packages/host/dist/index.js'))};`,
        `const lib = ${JSON.stringify(BLAST())};`,
        'const host = createHost();',
        "const running = host.call(lib, 'int fork_then_sleep(int, int *pids, size_t count)', [2, 0], { timeoutMs: 120000 });",
        'while (host.workerPids.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));',
        'await new Promise((resolve) => setTimeout(resolve, 300));',
        'process.stdout.write(`${host.workerPids[0]}\\n`);',
        'await running;',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const workerPid = await new Promise<number>((resolve, reject) => {
        let text = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n')) resolve(Number(text.trim()));
        });
        child.once('exit', (code) => reject(new Error(`the host script exited (${code}) before printing its worker`)));
        setTimeout(() => reject(new Error('the host script did not print its worker in time')), 20_000);
      });
      const tree = descendants(workerPid);
      expect(isAlive(workerPid)).toBe(true);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      expect(processesOf(child.pid!).length).toBeGreaterThanOrEqual(3);
      child.kill('SIGKILL');
      const start = performance.now();
      await expect.poll(() => [workerPid, ...tree].filter(isAlive), { timeout: 5_000 }).toEqual([]);
      console.log(`[measure] host SIGKILL: worker and its children gone within ${Math.round(performance.now() - start)} ms`);
      await expectNothingLeft(child.pid!);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a worker started by someone other than its host exits at once (getppid check)', () => {
    const run = spawnSync(process.execPath, [WORKER_ENTRY], {
      env: { AIRLOCK_HOST_PID: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    expect(run.status).toBe(70);
  });
});

describe('close()', () => {
  it('an idle worker exits by itself when its channel closes (no grace period spent)', async () => {
    const host = trackedHost({ closeGraceMs: 10_000 });
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    const run = await settleWithin(host.close(), 8_000);
    expect(run.settled).toBe(true);
    await expectNothingLeft();
  });

  it('a hung worker is terminated after the grace period; its call settles CANCELLED', async () => {
    const host = trackedHost({ closeGraceMs: 300 });
    const call = host.call(HOSTILE(), 'int sleep_forever(void)', [], { timeoutMs: 120_000 });
    // A loaded machine may take longer than usual to start the worker: wait for it, then for the call.
    await expect.poll(() => host.workerPids.length, { timeout: 10_000 }).toBe(1);
    await later(300);
    const closing = await settleWithin(host.close(), 10_000);
    expect(closing.settled).toBe(true);
    const error = await failure(call);
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toMatch(/host was closed/);
    await expectNothingLeft();
  });

  it('a worker that ignores SIGTERM and never reads its channel is killed (TERM, grace, KILL)', async () => {
    const dir = scratchDirectory();
    const worker = fakeWorker(
      dir,
      'stubborn.mjs',
      `import { serve } from FRAME;
       process.on('SIGTERM', () => {});
       serve({ onCall() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); } });`,
    );
    const host = trackedHost({ worker, closeGraceMs: 300 });
    const call = host.call('libm.so.6', 'double cos(double)', [0]);
    await expect.poll(() => host.workerPids.length, { timeout: 10_000 }).toBe(1);
    await later(300); // the call is in the worker now
    const [pid] = host.workerPids;
    expect(pid).toBeGreaterThan(0);
    const closing = await settleWithin(host.close(), 10_000);
    expect(closing.settled).toBe(true);
    expect(closing.ms).toBeGreaterThanOrEqual(500); // SIGTERM was ignored: SIGKILL after a second grace period
    expect((await failure(call)).code).toBe('CANCELLED');
    expect(isAlive(pid!)).toBe(false);
  });

  it('calls still waiting when the host closes are UNAVAILABLE; new calls too', async () => {
    const host = trackedHost({ workers: 1, closeGraceMs: 200 });
    const running = host.call(HOSTILE(), 'int sleep_forever(void)', [], { timeoutMs: 60_000 });
    await expect.poll(() => host.workerPids.length, { timeout: 10_000 }).toBe(1);
    await later(300); // the call is in the worker now
    const waiting = failure(host.call(HOSTILE(), 'int sleep_ms(int)', [1]));
    const runningOutcome = failure(running);
    await host.close();
    expect((await runningOutcome).code).toBe('CANCELLED');
    expect((await waiting).code).toBe('UNAVAILABLE');
    await expect(host.call(HOSTILE(), 'int sleep_ms(int)', [1])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('the start breaker', () => {
  it('repeated start failures open it: calls fail fast with UNAVAILABLE naming the cause', async () => {
    const dir = scratchDirectory();
    const attempts = join(dir, 'attempts');
    const worker = fakeWorker(dir, 'count-and-exit.mjs', `import { appendFileSync } from 'node:fs'; appendFileSync(${JSON.stringify(attempts)}, 'x'); process.exit(9);`);
    const host = trackedHost({ worker, breakerThreshold: 3, breakerCooldownMs: 1500, breakerMaxCooldownMs: 6000 });
    for (let i = 0; i < 3; i += 1) {
      const error = await failure(host.call('libm.so.6', 'double cos(double)', [0]));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain('exited with status 9 before its handshake');
    }
    expect(readFileSync(attempts, 'utf8')).toBe('xxx');
    const start = performance.now();
    const open = await failure(host.call('libm.so.6', 'double cos(double)', [0]));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(open.code).toBe('UNAVAILABLE');
    expect(open.message).toContain('exited with status 9 before its handshake');
    expect(open.message).toMatch(/not retrying for another \d+ ms/);
    expect(open.details).toMatchObject({ cause: expect.stringContaining('status 9') });
    expect(readFileSync(attempts, 'utf8')).toBe('xxx'); // failing fast: no spawn
    // After the cool-down one attempt is made (half-open); it fails and re-opens at once.
    await later(1700);
    expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).code).toBe('UNAVAILABLE');
    expect(readFileSync(attempts, 'utf8')).toBe('xxxx');
    expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).message).toMatch(/not retrying/);
    expect(readFileSync(attempts, 'utf8')).toBe('xxxx');
  });

  it('a worker that cannot be spawned, or fails loading its own code, is UNAVAILABLE naming why', async () => {
    const missing = trackedHost({ worker: { command: '/nonexistent/airlock-worker', args: [] }, breakerThreshold: 2, breakerCooldownMs: 60_000 });
    const spawnError = await failure(missing.call('libm.so.6', 'double cos(double)', [0]));
    expect(spawnError.code).toBe('UNAVAILABLE');
    expect(spawnError.message).toMatch(/Cannot (start|spawn) .*worker/);
    await failure(missing.call('libm.so.6', 'double cos(double)', [0]));
    const open = await failure(missing.call('libm.so.6', 'double cos(double)', [0]));
    expect(open.message).toMatch(/not retrying/);

    const dir = scratchDirectory();
    const broken = fakeWorker(dir, 'broken.mjs', `throw new Error('cannot load the native binding');`);
    const host = trackedHost({ worker: broken });
    const loadError = await failure(host.call('libm.so.6', 'double cos(double)', [0]));
    expect(loadError.code).toBe('UNAVAILABLE');
    expect(loadError.message).toMatch(/exited with status 1 before its handshake; it wrote: .*cannot load the native binding/);
  });

  it('with the stock exit-at-start fake worker too', async () => {
    const worker = { command: process.execPath, args: [join(FAKE_WORKERS, 'exit-at-start.mjs')] };
    const host = trackedHost({ worker, breakerThreshold: 2, breakerCooldownMs: 500 });
    for (let i = 0; i < 2; i += 1) expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).code).toBe('UNAVAILABLE');
    const open = await failure(host.call('libm.so.6', 'double cos(double)', [0]));
    expect(open.code).toBe('UNAVAILABLE');
    expect(open.message).toMatch(/Workers cannot be started \(The worker exited with status 9.*not retrying/);
  });

  it('closes again by itself after its cool-down once workers can start', async () => {
    const dir = scratchDirectory();
    const broken = join(dir, 'broken');
    writeFileSync(broken, '');
    const worker = fakeWorker(
      dir,
      'flaky.mjs',
      `import { existsSync } from 'node:fs';
       import { respond, serve } from FRAME;
       if (existsSync(${JSON.stringify(broken)})) process.exit(9);
       serve({ onCall: (message) => respond(message.id, { value: 42 }) });`,
    );
    const host = trackedHost({ worker, breakerThreshold: 2, breakerCooldownMs: 800 });
    for (let i = 0; i < 2; i += 1) expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).code).toBe('UNAVAILABLE');
    expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).message).toMatch(/not retrying/);
    rmSync(broken);
    // Still open until the cool-down passes…
    expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).message).toMatch(/not retrying/);
    await later(1000);
    // …then closed by itself: the next call starts a worker and succeeds, and so do later ones.
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(42);
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(42);
  });
});

describe('no replay', () => {
  it('a call that crashed its worker is run exactly once', async () => {
    const dir = scratchDirectory();
    const calls = join(dir, 'calls');
    const worker = fakeWorker(
      dir,
      'crash-on-call.mjs',
      `import { appendFileSync } from 'node:fs';
       import { serve } from FRAME;
       serve({ onCall() { appendFileSync(${JSON.stringify(calls)}, 'x'); process.kill(process.pid, 'SIGSEGV'); } });`,
    );
    const host = trackedHost({ worker, workers: 2 });
    const error = await failure(host.call('libm.so.6', 'double cos(double)', [0]));
    expect([error.code, error.signal]).toEqual(['CRASHED', 'SIGSEGV']);
    await later(500);
    expect(readFileSync(calls, 'utf8')).toBe('x');
    expect((await failure(host.call('libm.so.6', 'double cos(double)', [0]))).code).toBe('CRASHED');
    await later(300);
    expect(readFileSync(calls, 'utf8')).toBe('xx');
  });
});

describe('temp dirs', () => {
  it('each worker has its own, removed when it ends however it ends', async () => {
    const host = trackedHost({ workers: 2 });
    await Promise.all([host.call(HOSTILE(), 'int sleep_ms(int)', [300]), host.call(HOSTILE(), 'int sleep_ms(int)', [300])]);
    expect(host.workerPids).toHaveLength(2);
    const dirs = tempDirsOf(process.pid);
    expect(dirs).toHaveLength(2);
    const dirOf = new Map<string, number>();
    for (const pid of host.workerPids) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      const dir = environ.find((e) => e.startsWith('TMPDIR='))?.slice('TMPDIR='.length);
      expect(dirs).toContain(dir);
      dirOf.set(dir!, pid);
    }
    // crash, timeout, limit, cancel: each worker's dir goes with it
    const crashed = await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
    const timedOut = await failure(host.call(HOSTILE(), 'int sleep_forever(void)', [], { timeoutMs: 200 }));
    const limited = await failure(host.call(HOSTILE(), 'int spawn_threads(int)', [10], { maxProcesses: 2 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const cancelled = await failure(host.call(HOSTILE(), 'int sleep_forever(void)', [], { signal: controller.signal }));
    expect([crashed.code, timedOut.code, limited.code, cancelled.code]).toEqual(['CRASHED', 'TIMEOUT', 'LIMIT_EXCEEDED', 'CANCELLED']);
    const ended = [crashed.workerPid, timedOut.workerPid];
    expect(new Set(ended), 'the crash and the timeout ended the two first workers').toEqual(new Set(dirOf.values()));
    await expect
      .poll(() => dirs.filter((d) => existsSync(d)).map((d) => `${d} (worker ${dirOf.get(d)}, alive ${isAlive(dirOf.get(d)!)})`), { timeout: 5_000 })
      .toEqual([]);
    await host.close();
    expect(tempDirsOf(process.pid)).toEqual([]);
  });
});
