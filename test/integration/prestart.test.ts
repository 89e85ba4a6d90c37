// A worker spawned before its host exists (plugin-run does this first thing, so the worker
// starts while the CLI loads): taken by a host that would have spawned exactly that worker,
// never by another, and gone with nothing left behind when no host takes it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError, createHost } from '@airlock/host';
import { CLI, ROOT, fixture, isAlive } from '../helpers/fixtures.js';
import { cleanUp, cli, expectNothingLeft, tempDirsOf, trackedHost } from './containment-helpers.js';

type Prestart = typeof import('../../packages/host/src/worker/prestart.js');
type Launch = typeof import('../../packages/host/src/worker/worker-launch.js');
type Options = typeof import('../../packages/host/src/options/host-options.js');
// The built modules, as the host imports them: one module state between the test and its hosts.
const prestart = (await import(join(ROOT, 'packages/host/dist/worker/prestart.js'))) as Prestart;
const { workerSpawnSpec } = (await import(join(ROOT, 'packages/host/dist/worker/worker-launch.js'))) as Launch;
const { HostOptionsSchema, parseOptions } = (await import(join(ROOT, 'packages/host/dist/options/host-options.js'))) as Options;

afterEach(async () => {
  await prestart.discardPrestarted();
  await cleanUp();
});

describe('a prestarted worker', () => {
  it('is the worker createHost() would spawn for the same options (the defaults cannot drift apart)', () => {
    expect(workerSpawnSpec(prestart.DEFAULT_SPAWN_OPTIONS)).toEqual(workerSpawnSpec(parseOptions(HostOptionsSchema, {}, 'createHost options')));
    for (const memoryLimited of [true, false]) {
      const options = prestart.cliSpawnOptions(memoryLimited);
      expect(workerSpawnSpec(options)).toEqual(workerSpawnSpec(parseOptions(HostOptionsSchema, options, 'createHost options')));
    }
    // Only a worker that may watch memory pays for --single-threaded.
    expect(workerSpawnSpec(prestart.cliSpawnOptions(true)).args).toContain('--single-threaded');
    expect(workerSpawnSpec(prestart.cliSpawnOptions(false)).args).toContain('--single-threaded-gc');
    expect(workerSpawnSpec(prestart.cliSpawnOptions(false)).args).not.toContain('--single-threaded');
  });

  it('is taken by the first host that spawns a worker of its spec: that host calls on it', async () => {
    const pid = prestart.prestartWorker(workerSpawnSpec(prestart.DEFAULT_SPAWN_OPTIONS));
    expect(pid).toBeTypeOf('number');
    const host = trackedHost();
    const error = await host.call('libc.so.6', 'int airlock_no_such_symbol(void)').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AirlockError);
    expect(error).toMatchObject({ code: 'LOAD_ERROR', workerPid: pid });
    await expect(host.call('libc.so.6', 'int abs(int)', [-3])).resolves.toBe(3);
    // Taken once: a second prestart is a new worker, and discarding it leaves the host's alone.
    expect(prestart.takePrestarted(workerSpawnSpec(prestart.DEFAULT_SPAWN_OPTIONS))).toBeUndefined();
  });

  it('of another spec is never taken, and is ended with its temp dir when discarded', async () => {
    const spec = { ...workerSpawnSpec(prestart.DEFAULT_SPAWN_OPTIONS), env: { AIRLOCK_TEST_PRESTART: 'other' } };
    const pid = prestart.prestartWorker(spec)!;
    expect(isAlive(pid)).toBe(true);
    const host = createHost();
    const error = await host.call('libc.so.6', 'int airlock_no_such_symbol(void)').catch((caught: unknown) => caught);
    expect((error as AirlockError).workerPid).not.toBe(pid);
    await host.close();
    expect(isAlive(pid), 'the prestarted worker of another spec was left waiting').toBe(true);
    const dirs = tempDirsOf(process.pid);
    expect(dirs).toHaveLength(1);
    await prestart.discardPrestarted();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dirs[0]!)).toBe(false);
    await expectNothingLeft();
  });
});

describe('plugin-run', () => {
  it('calls on the worker it started before loading (NODE_DEBUG=airlock says so)', () => {
    const run = spawnSync(process.execPath, [CLI, 'call', 'libm.so.6', 'double cos(double)', '0'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_DEBUG: 'airlock' },
      timeout: 30_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('1\n');
    expect(run.stderr).toMatch(/worker \d+: prestarted, taken/);
  });

  it('with --memory, calls on the worker it started first too (one that may watch memory), and the limit holds', () => {
    const run = spawnSync(process.execPath, [CLI, 'call', '--json', '--memory', '32M', fixture('hostile'), 'int malloc_bomb(void)'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_DEBUG: 'airlock' },
      timeout: 30_000,
    });
    expect(run.stderr).toMatch(/worker \d+: prestarted, taken/);
    expect(run.status).toBe(5);
    expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', limit: 'memory' } });
  });

  it('leaves no worker and no temp dir when the command ends before it needs one (usage error, --help)', async () => {
    const usage = await cli(['call', '--bogus', 'libc.so.6', 'int abs(int)', '1']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--bogus');
    const help = await cli(['inspect', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('inspect');
  });
});
