import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError, createHost, type Host } from '@airlock/host';
import { BUILD, fixture, pluginRun, failure } from '../helpers/fixtures.js';

let host: Host;
beforeAll(() => {
  host = createHost({ workers: 2 });
});
afterAll(async () => {
  await host.close();
});


describe('Arroyo plugins', () => {
  it('runs the repeat plugin in C (and in Rust when cargo built it) unmodified, abi auto', async () => {
    expect(await host.call(fixture('repeat'), 'repeat', ['cool', 3])).toBe('coolcoolcool');
    if (existsSync(`${BUILD}/librepeat_rs.so`)) expect(await host.call(fixture('repeat_rs'), 'repeat', ['ab', 2])).toBe('abab');
  });

  it('adds 64-bit unsigned values beyond 2^63 exactly', async () => {
    expect(await host.call(fixture('arroyo_u64sum'), 'u64sum', [2n ** 63n, 2n ** 62n + 1n], { abi: 'arroyo' })).toBe(2n ** 63n + 2n ** 62n + 1n);
    expect(pluginRun(['call', fixture('arroyo_u64sum'), 'u64sum', '9223372036854775808', '4611686018427387905']).stdout).toBe('13835058055282163713\n');
  });

  it('reports arity and type errors before the plugin runs, naming the argument', async () => {
    const info = await host.inspect(fixture('repeat'));
    expect(info).toMatchObject({ abi: 'arroyo', arroyo: { name: 'repeat', argTypes: ['String', 'Int'], returnType: 'String' } });
    const arity = await failure(host.call(fixture('repeat'), 'repeat', ['cool']));
    expect(arity.code).toBe('INVALID_ARGUMENT');
    const type = await failure(host.call(fixture('repeat'), 'repeat', ['cool', 'three']));
    expect(type).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 1 });
    expect(type.message).toContain('"three"');
  });

  it('maps Err to PLUGIN_ERROR with the message, NULL strings to null, lies and aborts to their codes', async () => {
    expect(await host.call(fixture('arroyo_err'), 'check_positive', [5])).toBe(5);
    const err = await failure(host.call(fixture('arroyo_err'), 'check_positive', [-7]));
    expect(err.code).toBe('PLUGIN_ERROR');
    expect(err.message).toContain('negative input: -7');
    const nullInfo = await host.inspect(fixture('arroyo_null'));
    expect(await host.call(fixture('arroyo_null'), nullInfo.arroyo!.name, nullInfo.arroyo!.argTypes.map(sample))).toBeNull();
    const lying = await host.inspect(fixture('arroyo_lying'));
    expect(lying.arroyo!.argTypes.length).toBe(3);
    await host.call(fixture('arroyo_lying'), lying.arroyo!.name, lying.arroyo!.argTypes.map(sample));
    const abortInfo = await host.inspect(fixture('arroyo_abort'));
    const abort = await failure(host.call(fixture('arroyo_abort'), abortInfo.arroyo!.name, abortInfo.arroyo!.argTypes.map(sample)));
    expect(abort).toMatchObject({ code: 'CRASHED', signal: 'SIGABRT' });
    expect(await host.call(fixture('repeat'), 'repeat', ['x', 2])).toBe('xx');
  });

  it('keeps plugin stdout out of the result', async () => {
    const info = await host.inspect(fixture('arroyo_noisy'));
    const result = await host.call(fixture('arroyo_noisy'), info.arroyo!.name, info.arroyo!.argTypes.map(sample));
    expect(JSON.stringify(result ?? null)).not.toMatch(/printf|hello/i);
  });

  it('plugin-run call and inspect use the metadata', () => {
    expect(pluginRun(['call', fixture('repeat'), 'repeat', 'ab', '3']).stdout).toBe('ababab\n');
    const bad = pluginRun(['call', fixture('repeat'), 'repeat', 'ab', 'x']);
    expect(bad.status).toBe(2);
    // Unloaded (the default), the file says it is an Arroyo plugin; its metadata needs a load.
    const unloaded = pluginRun(['inspect', fixture('repeat')]);
    expect(unloaded.stdout).toContain('abi: arroyo\nplugin: (its metadata is read by loading it: --load)');
    const inspect = pluginRun(['inspect', '--load', fixture('repeat')]);
    expect(inspect.stdout).toContain('plugin: repeat');
    expect(inspect.stdout).toContain('arguments: String, Int');
    expect(inspect.stdout).toContain('returns: String');
  });
});

function sample(type: string): unknown {
  return { Bool: true, Int: 2, UInt: 3, Double: 1.5, String: 'text' }[type];
}

describe('vAccel exec', () => {
  it('runs mytestfunc in both layouts', async () => {
    expect(await host.call(fixture('vaccel_ops'), 'mytestfunc', { read: [{ int32: 10 }], write: [{ int32: null }] }, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
    expect(
      await host.call(fixture('vaccel_ops_v07'), 'mytestfunc', { read: [{ int32: 21 }], write: [{ int32: null }] }, { abi: 'vaccel', vaccelArgLayout: 'v0.7' }),
    ).toEqual({ status: 0, write: [42] });
  });

  it('maps a non-zero status to PLUGIN_ERROR with status and errno name', async () => {
    const source = readFileSync('test/fixtures/c/vaccel_ops.c', 'utf8');
    const fn = /int (\w+)\([^)]*\)\s*\{[^}]*return\s+(?:EINVAL|22)/.exec(source)?.[1];
    expect(fn).toBeDefined();
    const error = await failure(host.call(fixture('vaccel_ops'), fn!, { read: [], write: [] }, { abi: 'vaccel' }));
    expect(error).toMatchObject({ code: 'PLUGIN_ERROR', status: 22, errno: 'EINVAL' });
  });

  it('plugin-run takes --read and --write', () => {
    const run = pluginRun(['call', '--abi', 'vaccel', fixture('vaccel_ops'), 'mytestfunc', '--read', 'int32:10', '--write', 'int32', '--json']);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, result: { status: 0, write: [20] } });
  });
});

describe('sessions and resources', () => {
  it('registers a dependency pair, runs it, and removes the rundir on close', async () => {
    const session = await host.session();
    const rundir = session.rundir;
    expect(existsSync(rundir)).toBe(true);
    const resource = await session.registerResource([fixture('vaccel_dep_base'), fixture('vaccel_dep_user')]);
    expect(resource.dir).toBe(`${rundir}/resource.${resource.id}`);
    expect(existsSync(resource.files[1]!)).toBe(true);
    expect(await session.execWithResource(resource, 'use_dep', { read: [], write: [{ int32: null }] })).toEqual({ status: 0, write: [42] });
    const bytes = await session.registerResource({ data: new Uint8Array(readFileSync(fixture('vaccel_ops'))), filename: 'libops.so' });
    expect(await session.execWithResource(bytes, 'mytestfunc', { read: [{ int32: 4 }], write: [{ int32: null }] })).toEqual({ status: 0, write: [8] });
    expect(await session.exec(fixture('vaccel_ops'), 'mytestfunc', { read: [{ int32: 5 }], write: [{ int32: null }] })).toEqual({ status: 0, write: [10] });
    await session.noop();
    await session.unregisterResource(bytes);
    expect(existsSync(bytes.dir)).toBe(false);
    await session.close();
    expect(existsSync(rundir)).toBe(false);
  });

  it('a session whose worker crashed says so on every later call until closed', async () => {
    const session = await host.session();
    const crash = await failure(session.call(fixture('hostile'), 'int crash_segv(void)', []));
    expect(crash).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    for (let i = 0; i < 2; i += 1) {
      const later = await failure(session.noop());
      expect(later.code).toBe('UNAVAILABLE');
      expect(later.message).toMatch(/lost its worker/);
    }
    await session.close();
    expect(existsSync(session.rundir)).toBe(false);
  });
});

describe('library identity', () => {
  it('pins a library by sha256 and shows both hashes on a mismatch', async () => {
    const path = fixture('types');
    const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(await host.call(path, 'int add(int, int)', [1, 2], { sha256: digest })).toBe(3);
    const wrong = '0'.repeat(64);
    const error = await failure(host.call(path, 'int add(int, int)', [1, 2], { sha256: wrong }));
    expect(error.code).toBe('LOAD_ERROR');
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(digest);
    const cli = pluginRun(['call', '--sha256', wrong, path, 'int add(int, int)', '1', '2']);
    expect(cli.status).toBe(6);
  });
});
