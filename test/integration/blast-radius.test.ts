// One call, one blast radius: whatever a call leaves behind in its worker (threads, timers,
// signal handling, limits, descriptors, directory, umask, environment, memory, processes) is
// that call's alone. The call gets its own outcome; its worker retires; the next, innocent
// call runs on a clean worker and succeeds. Replies are checked against what the call declared.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { afterEach, describe, expect, it } from 'vitest';
import type { AirlockError } from '@airlock/host';
import { fixture, isAlive } from '../helpers/fixtures.js';
import { HOSTILE, cleanUp, failure, liveProcesses, scratchDirectory, trackedHost } from './containment-helpers.js';

afterEach(cleanUp);

const BLAST = () => fixture('blast');
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const identity = 'int identity(int)';

/** Waits until a worker has been replaced (the pool's worker pids no longer include `pid`). */
async function retired(host: ReturnType<typeof trackedHost>, pid: number): Promise<void> {
  await expect.poll(() => isAlive(pid), { timeout: 5_000 }).toBe(false);
  await expect.poll(() => host.workerPids.includes(pid), { timeout: 5_000 }).toBe(false);
}

describe('what a call leaves running strikes no later call', () => {
  it('a thread that segfaults after its call returned: the call succeeds, the next call too', async () => {
    const host = trackedHost();
    expect(await host.call(BLAST(), 'int thread_crash_later(int)', [300])).toBe(0);
    const [first] = host.workerPids;
    await later(600);
    expect(await host.call(BLAST(), identity, [5])).toBe(5);
    await retired(host, first!);
  });

  it.each([
    ['alarm(1)', 'int arm_alarm(int)', [1], 1_300],
    ['setitimer(ITIMER_REAL)', 'int arm_itimer(int)', [300], 600],
    ['a POSIX timer', 'int arm_posix_timer(int)', [300], 600],
  ])('%s armed by a call does not kill the worker of a later call', async (_what, fn, args, waitMs) => {
    const host = trackedHost();
    expect(await host.call(BLAST(), fn, args)).toBe(0);
    const [first] = host.workerPids;
    await later(waitMs);
    expect(await host.call(BLAST(), identity, [6])).toBe(6);
    await retired(host, first!);
  });

  it('a thread left spinning does not count against a later call’s cpuMs', async () => {
    const host = trackedHost();
    expect(await host.call(BLAST(), 'int thread_spin(void)')).toBe(0);
    await later(300);
    expect(await host.call(BLAST(), identity, [7], { cpuMs: 200 })).toBe(7);
  });

  it('a thread that writes later does not use up a later call’s output budget', async () => {
    const host = trackedHost();
    expect(await host.call(BLAST(), 'int thread_write_later(int, int)', [150, 200_000])).toBe(0);
    await later(400);
    expect(await host.call(BLAST(), identity, [8], { maxOutputBytes: 1_000 })).toBe(8);
  });

  it('signal handling changed by a call (SIGTERM ignored, SIGCHLD blocked) retires its worker', async () => {
    // No spares: the host's one worker is the one each call ran on.
    const host = trackedHost({ standby: 0 });
    expect(await host.call(BLAST(), 'int ignore_signal(int)', [15])).toBe(0);
    const [first] = host.workerPids;
    expect(await host.call(BLAST(), 'int block_signal(int)', [17])).toBe(0);
    await retired(host, first!);
    const [second] = host.workerPids;
    expect(await host.call(BLAST(), identity, [9])).toBe(9);
    await retired(host, second!);
  });
});

describe('a worker a call changed serves no other call', () => {
  it('lowered hard limits: later memory-limited calls still work', async () => {
    const host = trackedHost();
    const RLIMIT_DATA = 2;
    expect(await host.call(BLAST(), 'int lower_hard_limit(int, long long)', [RLIMIT_DATA, 1n << 40n])).toBe(0);
    expect(await host.call(BLAST(), 'int leak_mib(int)', [8], { memoryBytes: 64 << 20 })).toBe(8);
  });

  it('descriptors exhausted (EMFILE): the next call opens files again', async () => {
    const host = trackedHost();
    const opened = (await host.call(BLAST(), 'int exhaust_fds(int)', [1_000_000])) as number;
    expect(opened).toBeGreaterThan(100);
    expect(await host.call(BLAST(), 'int leak_fds(int)', [3])).toBe(3);
  });

  it('fds 0 and 1 closed, or fd 1 replaced: the next call prints and answers', async () => {
    const host = trackedHost();
    expect(await host.call(HOSTILE(), 'int close_stdio(void)')).toBe(7);
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [3], { timeoutMs: 5_000 })).toBe(3);
    expect(await host.call(BLAST(), 'int replace_fd(int)', [1])).toBe(0);
    const lines: string[] = [];
    const logged = trackedHost({ onLog: ({ line }) => lines.push(line) });
    expect(await logged.call(BLAST(), 'int replace_fd(int)', [1])).toBe(0);
    expect(await logged.call(HOSTILE(), 'int print_and_return(int)', [4])).toBe(4);
    await expect.poll(() => lines.some((line) => line.includes('4')), { timeout: 5_000 }).toBe(true);
  });

  it('cwd, umask and environment changed by a call are not what the next call sees', async () => {
    const host = trackedHost();
    const cwd = (await host.call(BLAST(), 'const char *current_dir(void)')) as string;
    const umask = (await host.call(BLAST(), 'int current_umask(void)')) as number;
    expect(await host.call(BLAST(), 'int change_dir(const char *)', ['/'])).toBe(0);
    expect(await host.call(BLAST(), 'const char *current_dir(void)')).toBe(cwd);
    expect(await host.call(BLAST(), 'int change_umask(int)', [0o077])).toBe(umask);
    expect(await host.call(BLAST(), 'int current_umask(void)')).toBe(umask);
    expect(await host.call(BLAST(), 'int set_env(const char *, const char *)', ['LD_PRELOAD', '/nonexistent.so'])).toBe(0);
    expect(await host.call('libc.so.6', 'const char *getenv(const char *)', ['LD_PRELOAD'])).toBe(null);
  });

  it('50 MiB leaked per call under a 128 MiB memoryBytes: every call gets its whole budget, no worker grows past it', async () => {
    const host = trackedHost({ limits: { memoryBytes: 128 << 20 } });
    const workers = new Set<number>();
    for (let i = 0; i < 6; i += 1) {
      expect(await host.call(BLAST(), 'int leak_mib(int)', [50])).toBe(50);
      for (const pid of host.workerPids) {
        workers.add(pid);
        try {
          const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]) * 1024;
          expect(rss).toBeLessThan(400 << 20);
        } catch {
          /* retired and gone already */
        }
      }
    }
    expect(workers.size).toBeGreaterThanOrEqual(6);
  });

  it('maxCallsPerWorker: a worker serves that many calls, then the next gets a fresh one', async () => {
    const host = trackedHost({ maxCallsPerWorker: 2 });
    const pids: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      expect(await host.call(BLAST(), identity, [i])).toBe(i);
      pids.push(host.workerPids[host.workerPids.length - 1]!);
    }
    expect(pids[0]).toBe(pids[1]);
    await expect.poll(() => isAlive(pids[0]!), { timeout: 5_000 }).toBe(false);
    expect(host.workerPids).not.toContain(pids[0]);
  });

  it('maxWorkerRssBytes: a worker resident past it after a call retires', async () => {
    const host = trackedHost({ maxWorkerRssBytes: 256 << 20 });
    expect(await host.call(BLAST(), identity, [1])).toBe(1);
    const [first] = host.workerPids;
    expect(await host.call(BLAST(), 'int leak_mib(int)', [300])).toBe(300);
    await retired(host, first!);
    expect(await host.call(BLAST(), identity, [2])).toBe(2);
  });

  it('with pipelining, the calls sent behind a dirty one run elsewhere, each exactly once', async () => {
    const host = trackedHost({ pipeline: 8 });
    const calls = [host.call(BLAST(), 'int thread_crash_later(int)', [2_000]), ...Array.from({ length: 7 }, (_, i) => host.call(BLAST(), identity, [i]))];
    expect(await Promise.all(calls)).toEqual([0, 0, 1, 2, 3, 4, 5, 6]);
  });

  it('NODE_DEBUG=airlock says why a worker retired', async () => {
    const script = `
      import { createHost } from ${JSON.stringify(new URL('../../packages/host/dist/index.js', import.meta.url).pathname)};
      const host = createHost();
      await host.call(${JSON.stringify(BLAST())}, 'int thread_spin(void)');
      await host.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_DEBUG: 'airlock' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr).toMatch(/AIRLOCK \d+: retiring worker \d+: the call left 1 thread\(s\) running/);
  });
});

describe('processes a call starts die with it', () => {
  it.each([
    ['fork', 'int fork_child(int)'],
    ['vfork + exec', 'int vfork_child(int)'],
    ['double fork + setsid', 'int daemonize(int)'],
    ['setpgid(0, 0)', 'int setpgid_child(int)'],
  ])('a child started by %s and left behind dies when its worker retires', async (_how, fn) => {
    const host = trackedHost();
    const pid = (await host.call(BLAST(), fn, [30])) as number;
    expect(pid).toBeGreaterThan(0);
    await expect.poll(() => isAlive(pid), { timeout: 5_000 }).toBe(false);
    expect(await host.call(BLAST(), identity, [1])).toBe(1);
  });
});

describe('processes a crashing call started die too', () => {
  it('a setsid daemon started just before the worker crashed (orphaned out of its tree) is found and killed', async () => {
    const host = trackedHost();
    expect(await host.call(BLAST(), identity, [1])).toBe(1);
    const [worker] = host.workerPids;
    const marker = `TMPDIR=${readFileSync(`/proc/${worker}/environ`, 'latin1').split('\0').find((entry) => entry.startsWith('TMPDIR='))!.slice(7)}\0`;
    const carrying = () => liveProcesses((environ) => environ.includes(marker)).filter((pid) => pid !== worker);
    const error = await failure(host.call(BLAST(), 'int daemonize_then_crash(int, int *out, size_t count)', [30, 1]));
    expect([error.code, error.signal]).toEqual(['CRASHED', 'SIGSEGV']);
    await expect.poll(carrying, { timeout: 5_000 }).toEqual([]);
    expect(await host.call(BLAST(), identity, [2])).toBe(2);
  });
});

describe('replies are tainted until checked', () => {
  it('a forged reply of the wrong type is PROTOCOL_ERROR on that call alone; the next call succeeds', async () => {
    const host = trackedHost();
    // A fresh worker's first call is call 0.
    const error = await failure(host.call(BLAST(), 'int forge_results(int, const char *)', [0, '"pwned"']));
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(error.message).toMatch(/does not fit the call: forge_results returns an integer/);
    expect(await host.call(BLAST(), identity, [11])).toBe(11);
  });

  it('a forged reply of the right type wins its own call, and the real reply arriving after it blames no later call', async () => {
    const host = trackedHost();
    expect(await host.call(BLAST(), 'int forge_results(int, const char *)', [0, '-42'])).toBe(-42);
    const [first] = host.workerPids;
    expect(await host.call(BLAST(), identity, [12])).toBe(12);
    await retired(host, first!);
    expect(await host.call(BLAST(), identity, [13])).toBe(13);
  });

  it('half a frame written on the channel is PROTOCOL_ERROR within seconds, not a timeout', async () => {
    const host = trackedHost();
    const error = await failure(host.call(BLAST(), 'int partial_frame(void)', [], { timeoutMs: 30_000 }));
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(error.message).toMatch(/begun and not finished/);
    expect(await host.call(BLAST(), identity, [14])).toBe(14);
  });

  it('a planted command-group entry does not make the host kill a process group that is not the worker’s', async () => {
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const host = trackedHost();
      expect(await host.call(BLAST(), 'int plant_command_group(int)', [bystander.pid!])).toBe(0);
      const error = await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
      expect(error.code).toBe('CRASHED');
      await later(300);
      expect(isAlive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('limits hold against the plugin', () => {
  const MiB = 1 << 20;

  it('memoryBytes 64M: a plugin that raises its limits still cannot allocate 512 MiB, and the next call is served', async () => {
    const host = trackedHost();
    // setrlimit works for the soft limit, but the hard limit it may raise it to is bound.
    expect(await host.call(BLAST(), 'int raise_limits_and_allocate(int)', [512], { memoryBytes: 64 * MiB })).toBe(-1);
    expect(await host.call(BLAST(), identity, [1], { memoryBytes: 64 * MiB })).toBe(1);
    expect(await host.call(BLAST(), identity, [2])).toBe(2);
  });

  it('memoryBytes 64M: a 1 GiB shared mapping is refused (RLIMIT_AS), and one made after raising RLIMIT_AS is stopped by the host', async () => {
    const host = trackedHost();
    const ENOMEM = 12;
    expect(await host.call(BLAST(), 'int shared_map_mib(int)', [1024], { memoryBytes: 64 * MiB })).toBe(-ENOMEM);
    const error = await failure(host.call(BLAST(), 'int raise_as_and_map_shared(int)', [1024], { memoryBytes: 64 * MiB }));
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'memory']);
    expect(error.message).toMatch(/MiB resident added, the limit is 64 MiB/);
    expect(await host.call(BLAST(), identity, [3])).toBe(3);
  });

  it('memoryBytes holds in child processes too: the child cannot allocate 512 MiB, or the host stops the call', async () => {
    const host = trackedHost();
    // The child inherits the bound RLIMIT_DATA (its malloc fails: exit status 1), and the host
    // counts the child's private memory (past the budget and its slack: LIMIT_EXCEEDED) —
    // whichever comes first.
    const outcome = await host.call(BLAST(), 'int allocate_in_child(int)', [512], { memoryBytes: 64 * MiB }).then(
      (value) => ({ value }),
      (error: AirlockError) => ({ code: error.code, limit: error.limit }),
    );
    expect([{ value: 1 }, { code: 'LIMIT_EXCEEDED', limit: 'memory' }]).toContainEqual(outcome);
    expect(await host.call(BLAST(), identity, [4])).toBe(4);
  });

  it('cpuMs counts the CPU of child processes: a call that waits for a CPU-burning child is stopped', async () => {
    const host = trackedHost();
    const error = await failure(host.call(BLAST(), 'int burn_in_child(void)', [], { cpuMs: 300, timeoutMs: 20_000 }));
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'cpu']);
    expect(await host.call(BLAST(), identity, [5])).toBe(5);
  });

  it('clone(CLONE_PARENT) is refused: no child of the host, no zombie in it; maxProcesses holds', async () => {
    const host = trackedHost();
    const EPERM = 1;
    expect(await host.call(BLAST(), 'int clone_parent_child(int)', [30])).toBe(-EPERM);
    expect(await host.call(BLAST(), 'int clone_parent_many(int)', [30], { maxProcesses: 8 })).toBe(-EPERM);
    const ownChildren = readdirSync(`/proc/${process.pid}/task`).flatMap((tid) => readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'latin1').split(' ').filter(Boolean));
    for (const child of ownChildren) expect(readFileSync(`/proc/${child}/stat`, 'latin1')).not.toMatch(/\) Z /);
    expect(await host.call(BLAST(), identity, [6])).toBe(6);
  });

  it('a descriptor the host opened without close-on-exec is not open in its workers', async () => {
    const open = koffi.load('libc.so.6').func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
    const close = koffi.load('libc.so.6').func('int close(int fd)') as (fd: number) => number;
    const secret = join(scratchDirectory(), 'secret');
    writeFileSync(secret, 'the host’s secret');
    const fd = open(secret, 0);
    expect(fd).toBeGreaterThan(3);
    try {
      const host = trackedHost();
      expect(await host.call(BLAST(), identity, [7])).toBe(7);
      const [worker] = host.workerPids;
      const targets = readdirSync(`/proc/${worker}/fd`).map((name) => {
        try {
          return readlinkSync(`/proc/${worker}/fd/${name}`);
        } catch {
          return '';
        }
      });
      expect(targets).not.toContain(secret);
    } finally {
      close(fd);
    }
  });
});
