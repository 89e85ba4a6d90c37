// Containment, environment: workers start from a clean environment plus what the host passes,
// cannot gain privileges, dump no core, and each has a temp dir of its own.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HOSTILE, closeHosts, scratchDir, tempDirsOf, trackedHost } from './containment-helpers.js';

afterEach(() => {
  delete process.env.AIRLOCK_CONTAINMENT_SECRET;
  delete process.env.AIRLOCK_CONTAINMENT_PASSED;
});
afterEach(closeHosts);

const getenv = 'const char *getenv(const char *name)';

function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'latin1')
    .split('\0')
    .filter(Boolean)
    .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

describe('environment', () => {
  it('a worker sees only env, passEnv and its own variables, nothing else of the host', async () => {
    process.env.AIRLOCK_CONTAINMENT_SECRET = 'do-not-leak';
    process.env.AIRLOCK_CONTAINMENT_PASSED = 'passed-on';
    const host = trackedHost({ env: { PLUGIN_MODE: 'strict' }, passEnv: ['AIRLOCK_CONTAINMENT_PASSED', 'AIRLOCK_NOT_SET_ANYWHERE'] });
    expect(await host.call('libc.so.6', getenv, ['PLUGIN_MODE'])).toBe('strict');
    expect(await host.call('libc.so.6', getenv, ['AIRLOCK_CONTAINMENT_PASSED'])).toBe('passed-on');
    expect(await host.call('libc.so.6', getenv, ['AIRLOCK_CONTAINMENT_SECRET'])).toBe(null);
    expect(await host.call('libc.so.6', getenv, ['AIRLOCK_NOT_SET_ANYWHERE'])).toBe(null);
    expect(await host.call('libc.so.6', getenv, ['HOME'])).toBe(null);
    expect(await host.call('libc.so.6', getenv, ['PATH'])).toBe(null);
    const environ = environOf(host.workerPids[0]!);
    // AIRLOCK_INHERITED_FDS appears when this process has descriptors a child would inherit (the
    // test runner's IPC channel): the worker closes those at start.
    expect(Object.keys(environ).filter((name) => name !== 'AIRLOCK_INHERITED_FDS').sort()).toEqual(
      ['AIRLOCK_CONTAINMENT_PASSED', 'AIRLOCK_HOST_PID', 'AIRLOCK_MAX_FRAME_BYTES', 'AIRLOCK_STDOUT_FD', 'PLUGIN_MODE', 'TMPDIR'].sort(),
    );
    expect(environ.AIRLOCK_HOST_PID).toBe(String(process.pid));
  });

  it('the host cannot be tricked into overriding its own variables (TMPDIR stays the worker’s)', async () => {
    const host = trackedHost({ env: { TMPDIR: '/', AIRLOCK_HOST_PID: '1' } });
    const tmp = (await host.call('libc.so.6', getenv, ['TMPDIR'])) as string;
    expect(tempDirsOf(process.pid)).toContain(tmp);
  });
});

describe('privileges and core dumps', () => {
  it('PR_SET_NO_NEW_PRIVS is set, core dumps are off, the worker is its own process group', async () => {
    const host = trackedHost();
    // What the plugin itself sees.
    expect(await host.call('libc.so.6', 'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)', [39, 0, 0, 0, 0])).toBe(1);
    const pid = host.workerPids[0]!;
    expect(readFileSync(`/proc/${pid}/status`, 'latin1')).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(readFileSync(`/proc/${pid}/limits`, 'latin1')).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(pgid).toBe(pid);
  });

  it('a crash leaves no core file behind, and the worker is not dumpable', async () => {
    const { dir, remove } = scratchDir();
    try {
      const host = trackedHost({ cwd: dir });
      expect(await host.call('libc.so.6', 'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)', [3, 0, 0, 0, 0])).toBe(0);
      for (const fn of ['int crash_abort(void)', 'int crash_segv(void)']) {
        await expect(host.call(HOSTILE(), fn)).rejects.toMatchObject({ code: 'CRASHED' });
      }
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      remove();
    }
  });
});

describe('temp dirs', () => {
  it('each worker has its own private temp dir, its TMPDIR', async () => {
    const host = trackedHost({ workers: 2 });
    await Promise.all([host.call(HOSTILE(), 'int sleep_ms(int)', [300]), host.call(HOSTILE(), 'int sleep_ms(int)', [300])]);
    const dirs = host.workerPids.map((pid) => environOf(pid).TMPDIR!);
    expect(new Set(dirs).size).toBe(2);
    for (const dir of dirs) {
      expect(tempDirsOf(process.pid)).toContain(dir);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
  });
});
