// The environment a library needs: LD_LIBRARY_PATH reaches the worker by default (the API and
// plugin-run), --env and --pass-env set the rest, and a library that does not load says why
// when the loader alone would mislead (a dependency outside a clean environment, a bare name
// meant as the file here).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BUILD, CLI, failure, pluginRun } from '../helpers/fixtures.js';
import { closeHosts, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

// A library whose dependency lies elsewhere, found only through LD_LIBRARY_PATH (no RUNPATH).
const dir = mkdtempSync(join(tmpdir(), 'airlock-worker-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deps = join(dir, 'deps');
const lib = join(dir, 'lib');
mkdirSync(deps);
mkdirSync(lib);
writeFileSync(join(dir, 'dep.c'), 'int dep_value(void) { return 41; }\n');
writeFileSync(join(dir, 'user.c'), 'int dep_value(void);\nint user_value(void) { return dep_value() + 1; }\n');
execFileSync('cc', ['-shared', '-fPIC', '-o', join(deps, 'libdep.so'), join(dir, 'dep.c')]);
execFileSync('cc', ['-shared', '-fPIC', '-o', join(lib, 'libuser.so'), join(dir, 'user.c'), `-L${deps}`, '-ldep']);
const USER = join(lib, 'libuser.so');
const getenv = 'const char *getenv(const char *name)';

describe("the worker's environment", () => {
  it('gets LD_LIBRARY_PATH by default: a dependency found through it loads', async () => {
    const saved = process.env.LD_LIBRARY_PATH;
    process.env.LD_LIBRARY_PATH = deps;
    try {
      const host = trackedHost();
      expect(await host.call('libc.so.6', getenv, ['LD_LIBRARY_PATH'])).toBe(deps);
      expect(await host.call(USER, 'int user_value(void)')).toBe(42);
      // passEnv: [] passes nothing: the dependency is missing, and the error says where to look.
      const clean = trackedHost({ passEnv: [] });
      const error = await failure(clean.call(USER, 'int user_value(void)'));
      expect(error.code).toBe('LOAD_ERROR');
      expect(error.message).toContain('libdep.so: cannot open shared object file');
      expect(error.message).toContain('the worker starts from a clean environment');
      expect(await clean.call('libc.so.6', 'int abs(int)', [-3])).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
    }
  });

  it('plugin-run call passes LD_LIBRARY_PATH, sets --env and passes --pass-env', () => {
    const env = { ...process.env, LD_LIBRARY_PATH: deps, AIRLOCK_ENV_TEST_PASSED: 'passed' };
    expect(pluginRun(['call', USER, 'int user_value(void)'], { env })).toEqual({ status: 0, stdout: '42\n', stderr: '' });
    expect(pluginRun(['call', '--env', 'GREETING=hi there', 'libc.so.6', getenv, 'GREETING'], { env }).stdout).toBe('hi there\n');
    expect(pluginRun(['call', '--pass-env', 'AIRLOCK_ENV_TEST_PASSED', 'libc.so.6', getenv, 'AIRLOCK_ENV_TEST_PASSED'], { env }).stdout).toBe('passed\n');
    // Not passed unless asked (a NULL string prints nothing).
    expect(pluginRun(['call', 'libc.so.6', getenv, 'AIRLOCK_ENV_TEST_PASSED'], { env })).toEqual({ status: 0, stdout: '', stderr: '' });
    const bad = pluginRun(['call', '--env', 'GREETING', 'libc.so.6', getenv, 'GREETING'], { env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('expected NAME=VALUE, got "GREETING"');
  });

  it('a bare name that is a file here fails with a hint to write ./name', () => {
    const run = (() => {
      try {
        return { status: 0, out: execFileSync(process.execPath, [CLI, 'call', 'libtypes.so', 'int add(int a, int b)', '1', '2'], { cwd: BUILD, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
      } catch (error) {
        const e = error as { status: number; stderr: string };
        return { status: e.status, out: e.stderr };
      }
    })();
    expect(run.status).toBe(6);
    expect(run.out).toContain('LOAD_ERROR');
    expect(run.out).toContain('give the file as ./libtypes.so');
  });
});
