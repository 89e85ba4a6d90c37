// vAccel libraries as their users build them (test/fixtures/vaccel: a stub libvaccel.so.0 of
// each version, libraries linked against it): CUSTOM arguments, the layout read from the
// library, resources loaded in place, SONAME-less dependencies, one library per worker,
// libraries rebuilt on disk, and vAccel's statuses.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD, fixture, pluginRun } from '../helpers/fixtures.js';
import { closeHosts, failure, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const VACCEL = join(BUILD, 'vaccel');
const MAIN = join(VACCEL, 'main/examples/libmytestlib.so');
const V07 = join(VACCEL, 'v0.7/examples/libmytestlib.so');
const MAIN_PLAIN = join(VACCEL, 'main/plain/libmytestlib.so');
const OLD_HELPERS = join(VACCEL, 'main/examples/libold_helpers.so');
const double = { read: [{ int32: 10 }], write: [{ int32: null }] };

/** The serialized `struct mydata` of vAccel's examples: the count, then the numbers (uint32, native order). */
function mydata(numbers: number[]): Uint8Array {
  return new Uint8Array(new Uint32Array([numbers.length, ...numbers]).buffer);
}

describe('CUSTOM arguments (mytestfunc_nonser)', () => {
  it('round-trip through the API with typeId 100, in both layouts', async () => {
    const host = trackedHost();
    const main = await host.call(MAIN, 'mytestfunc_nonser', { read: [{ custom: mydata([1, 2, 3]), typeId: 100 }], write: [{ custom: 16, typeId: 100 }] }, { abi: 'vaccel' });
    expect(main).toEqual({ status: 0, write: [mydata([3, 2, 1])] });
    // v0.7 has no custom_type_id: its argtype tag carries the id; the library serializes alike.
    const v07 = await host.call(V07, 'mytestfunc_nonser', { read: [{ custom: mydata([5, 6]), typeId: 100 }], write: [{ custom: 12, typeId: 100 }] }, { abi: 'vaccel' });
    expect(v07).toEqual({ status: 0, write: [mydata([6, 5])] });
  });

  it('carry their typeId in custom_type_id (main), and a v0.7 argtype the caller sets', async () => {
    const host = trackedHost();
    const main = (await host.call(fixture('vaccel_ops'), 'describe_args', { read: [{ custom: new Uint8Array(3), typeId: 100 }], write: [{ uint64_array: 9 }] }, { abi: 'vaccel' })) as { write: bigint[][] };
    // [nr_read, type, size, custom_type_id, owned, then the write argument's four]
    expect(main.write[0]!.slice(0, 5)).toEqual([1n, 29n, 3n, 100n, 0n]);
    const v07 = (await host.call(fixture('vaccel_ops_v07'), 'describe_args', { read: [{ raw: new Uint8Array(2), argtype: 42 }, { int32: 1 }], write: [{ uint64_array: 7, argtype: 16 }] }, { abi: 'vaccel' })) as { write: bigint[][] };
    // [nr_read, argtype, size per read argument, then per write argument]: 42 as set, int32's own number (5) by default.
    expect(v07.write[0]).toEqual([2n, 42n, 2n, 5n, 4n, 16n, 56n]);
    const tagged = await failure(host.call(fixture('vaccel_ops'), 'describe_args', { read: [{ int32: 1, argtype: 42 }], write: [{ uint64_array: 9 }] }, { abi: 'vaccel' }));
    expect(tagged).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 0, details: { list: 'read', index: 0, type: 'int32', layout: 'main' } });
    expect(tagged.message).toBe('read[0] (int32) sets argtype, the tag of the v0.7 layout; the main layout has type and custom_type_id (typeId) instead');
    expect(await host.call(MAIN, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
  });

  it('round-trip through plugin-run with --read custom:100:HEX|@file and --write custom:100:N', () => {
    const run = pluginRun(['call', MAIN, 'mytestfunc_nonser', '--read', `custom:100:${Buffer.from(mydata([7, 8, 9])).toString('hex')}`, '--write', 'custom:100:16', '--json']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, result: { status: 0, write: [{ base64: Buffer.from(mydata([9, 8, 7])).toString('base64') }] } });
    const dir = mkdtempSync(join(tmpdir(), 'airlock-custom-'));
    try {
      writeFileSync(join(dir, 'in.bin'), mydata([1, 2]));
      const fromFile = pluginRun(['call', V07, 'mytestfunc_nonser', '--read', `custom:100:@${join(dir, 'in.bin')}`, '--write', 'custom:100:12', '--json']);
      expect(JSON.parse(fromFile.stdout).result.write[0]).toEqual({ base64: Buffer.from(mydata([2, 1])).toString('base64') });
      const missing = pluginRun(['call', V07, 'mytestfunc_nonser', '--read', `custom:100:@${join(dir, 'nope.bin')}`, '--write', 'custom:100:12', '--json']);
      expect(missing.status).not.toBe(0);
      expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(JSON.parse(missing.stdout).error.message).toContain(`cannot read "${join(dir, 'nope.bin')}"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the layout of struct vaccel_arg, read from the library', () => {
  it('gives each version its layout with no option, and inspect says which and why', async () => {
    const host = trackedHost();
    expect(await host.call(MAIN, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
    expect(await host.call(V07, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
    // Only v0.7's helper names, but bound to main's libvaccel (which ships them over its own layout).
    expect(await host.call(OLD_HELPERS, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
    const main = await host.inspect(MAIN);
    expect(main).toMatchObject({ path: MAIN, abi: 'vaccel', vaccel: { layout: 'main', helpers: ['vaccel_arg_array_get_int32', 'vaccel_arg_array_get_serialized', 'vaccel_arg_array_set_int32', 'vaccel_arg_array_set_serialized', 'vaccel_arg_array_wrap', 'vaccel_stub_version'] } });
    expect(main.vaccel!.reason).toMatch(/^it imports vaccel_arg_array_get_int32, vaccel_arg_array_get_serialized, vaccel_arg_array_set_int32 and 2 more, vAccel's argument API/);
    // abi 'auto' (the default) with { read, write }: only vAccel takes arguments of that shape.
    expect(await host.call(V07, 'mytestfunc', double)).toEqual({ status: 0, write: [20] });
    expect(await host.callMany(MAIN, 'mytestfunc', [double, { read: [{ int32: 2 }], write: [{ int32: null }] }])).toEqual([
      { status: 'fulfilled', value: { status: 0, write: [20] } },
      { status: 'fulfilled', value: { status: 0, write: [4] } },
    ]);
    const notAnArray = await failure(host.call(fixture('types'), 'add', { a: 1 }));
    expect(notAnArray.message).toBe('Arguments must be an array, got an Object');
    const v07 = await host.inspect(V07);
    expect(v07.vaccel).toEqual({
      layout: 'v0.7',
      reason: 'it imports vaccel_extract_nonserial_arg, vaccel_extract_serial_arg, vaccel_write_nonserial_arg and 1 more, the argument helpers of vAccel v0.7',
      helpers: ['vaccel_extract_nonserial_arg', 'vaccel_extract_serial_arg', 'vaccel_stub_version', 'vaccel_write_nonserial_arg', 'vaccel_write_serial_arg'],
    });
    expect((await host.inspect(OLD_HELPERS)).vaccel!.reason).toBe(
      'it imports vaccel_extract_serial_arg, vaccel_write_serial_arg from a libvaccel that has vaccel_arg_array_* (the main branch, whose v0.7 helpers take its own layout)',
    );
  });

  it('gives a library that imports no helper the latest release (v0.7.1) layout, unless the caller says otherwise', async () => {
    const host = trackedHost();
    const plain = fixture('types');
    expect((await host.inspect(plain)).abi).toBe('c');
    // A layout the caller names wins over the library's imports (v0.8 is main's old name).
    expect(await host.call(fixture('vaccel_ops'), 'mytestfunc', double, { abi: 'vaccel', vaccelArgLayout: 'v0.8' })).toEqual({ status: 0, write: [20] });
    expect(await host.call(fixture('vaccel_ops'), 'mytestfunc', double, { abi: 'vaccel', vaccelArgLayout: 'main' })).toEqual({ status: 0, write: [20] });
    const forced = await failure(host.call(fixture('vaccel_ops'), 'mytestfunc', double, { abi: 'vaccel', vaccelArgLayout: 'v0.7' }));
    // The main fixture sees a v0.7 struct: the type field is garbage and it says EINVAL.
    expect(forced).toMatchObject({ code: 'PLUGIN_ERROR', status: 22, errno: 'EINVAL', details: { layout: 'v0.7' } });
    // libuser.so imports no helper and is written for v0.7's struct: it works with no option (the SONAME-less test below).
  });

  it('says so through plugin-run inspect and call, with --vaccel-layout taking auto, main, v0.7 and v0.8', () => {
    const inspect = pluginRun(['inspect', V07, '--json']);
    expect(JSON.parse(inspect.stdout).result).toMatchObject({ library: V07, path: V07, abi: 'vaccel', vaccel: { layout: 'v0.7' }, needed: ['libvaccel.so.0', 'libc.so.6'] });
    const text = pluginRun(['inspect', MAIN]);
    expect(text.stdout).toMatch(/^abi: vaccel$/m);
    expect(text.stdout).toMatch(/^vaccel layout: main \(it imports vaccel_arg_array_get_int32, /m);
    // abi auto: a library importing vAccel's helpers is called as vAccel.
    const call = pluginRun(['call', V07, 'mytestfunc', '--read', 'int32:21', '--write', 'int32', '--json']);
    expect(JSON.parse(call.stdout)).toEqual({ ok: true, result: { status: 0, write: [42] } });
    const forced = pluginRun(['call', fixture('vaccel_ops'), 'mytestfunc', '--vaccel-layout', 'v0.8', '--read', 'int32:1', '--write', 'int32', '--json']);
    expect(JSON.parse(forced.stdout)).toEqual({ ok: true, result: { status: 0, write: [2] } });
    const bad = pluginRun(['call', MAIN, 'mytestfunc', '--vaccel-layout', 'v0.9', '--read', 'int32:1', '--write', 'int32']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("argument 'v0.9' is invalid. Allowed choices are auto, main, v0.7, v0.8");
  });
});

describe("the vaccel-exec example, as its README says", () => {
  it('prints {"status":0,"write":[20]} from the CLI and { status: 0, write: [20] } from the API with no option, and inspect says main', async () => {
    const example = fixture('mytestlib');
    const run = pluginRun(['call', example, 'mytestfunc', '--read', 'int32:10', '--write', 'int32']);
    expect(run).toMatchObject({ status: 0, stdout: '{"status":0,"write":[20]}\n' });
    expect(pluginRun(['inspect', example]).stdout).toMatch(/^abi: vaccel\nvaccel layout: main \(it imports vaccel_arg_array_wrap,/m);
    const host = trackedHost();
    expect(await host.call(example, 'mytestfunc', { read: [{ int32: 10 }], write: [{ int32: null }] })).toEqual({ status: 0, write: [20] });
  });
});

describe('vAccel statuses', () => {
  it('are PLUGIN_ERROR with the status and what vaccel_exec would return for each version; the next call works', async () => {
    const host = trackedHost();
    // main: the stub's helper refuses an int8 where the function reads an int32 (EINVAL).
    const main = await failure(host.call(MAIN, 'mytestfunc', { read: [{ int8: 1 }], write: [{ int32: null }] }, { abi: 'vaccel' }));
    expect(main).toMatchObject({ code: 'PLUGIN_ERROR', status: 22, errno: 'EINVAL', details: { vaccelStatus: 71, vaccelError: 'VACCEL_EBACKEND', layout: 'main' } });
    expect(main.message).toBe('mytestfunc returned status 22 (EINVAL); vaccel_exec would return VACCEL_EBACKEND (71)');
    // v0.7: mytestfunc_nonser returns 1 when its argument does not deserialize.
    const v07 = await failure(host.call(V07, 'mytestfunc_nonser', { read: [{ raw: new Uint8Array([1]) }], write: [{ raw: 4 }] }, { abi: 'vaccel' }));
    expect(v07).toMatchObject({ code: 'PLUGIN_ERROR', status: 1, errno: 'EPERM', details: { vaccelStatus: 8, vaccelError: 'VACCEL_ENOEXEC', layout: 'v0.7' } });
    expect(await host.call(V07, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
  });
});

describe('resources, loaded where they are', () => {
  it('loads a build-tree library with RUNPATH $ORIGIN/../lib in place, as vAccel does', async () => {
    const host = trackedHost();
    const session = await host.session();
    try {
      const resource = await session.registerResource(MAIN);
      expect(resource.files).toEqual([MAIN]);
      expect(await session.execWithResource(resource, 'mytestfunc', double)).toEqual({ status: 0, write: [20] });
      expect(await session.execWithResource(resource, 'mytestfunc_nonser', { read: [{ custom: mydata([4, 5]), typeId: 100 }], write: [{ custom: 12, typeId: 100 }] })).toEqual({ status: 0, write: [mydata([5, 4])] });
      // Nothing was copied: the resource's directory holds no file of it.
      expect(readdirSync(resource.dir)).toEqual([]);
      await session.unregisterResource(resource);
      expect(existsSync(MAIN)).toBe(true);
    } finally {
      await session.close();
    }
  });

  it('resolves a dependency without SONAME that the library names by file name', async () => {
    const host = trackedHost();
    const session = await host.session();
    try {
      const resource = await session.registerResource([join(VACCEL, 'nosoname/libdep.so'), join(VACCEL, 'nosoname/libuser.so')]);
      // (It imports no vAccel helper: it gets v0.7's layout, which it is written for.)
      expect(await session.execWithResource(resource, 'use_dep', { write: [{ int32: null }] })).toEqual({ status: 0, write: [42] });
      // Loaded on its own, the library does not find its dependency (the loader's word, with airlock's hint).
      const alone = await failure(host.call(join(VACCEL, 'nosoname/libuser.so'), 'use_dep', { write: [{ int32: null }] }, { abi: 'vaccel' }));
      expect(alone.code).toBe('LOAD_ERROR');
      expect(alone.message).toContain('libdep.so: cannot open shared object file');
    } finally {
      await session.close();
    }
  });

  it('persists a resource given as bytes (where $ORIGIN is the rundir), and loads a library whose symbols bind only lazily', async () => {
    const host = trackedHost();
    const session = await host.session();
    const dir = mkdtempSync(join(tmpdir(), 'airlock-lazy-'));
    try {
      // As bytes, the library is written into the rundir: its RUNPATH $ORIGIN/../lib finds no libvaccel.so.0 there.
      const bytes = await failure(session.registerResource({ data: new Uint8Array(readFileSync(V07)), filename: 'libmytestlib.so' }));
      expect(bytes.code).toBe('LOAD_ERROR');
      expect(bytes.message).toMatch(/resource\.\d+\/libmytestlib\.so": .*libvaccel\.so\.0: cannot open shared object file/);
      // In place it loads.
      const inPlace = await session.registerResource(V07);
      expect(await session.execWithResource(inPlace, 'mytestfunc', double)).toEqual({ status: 0, write: [20] });
      // A library referring to a function nobody defines (from a function never called): RTLD_NOW refuses it, RTLD_LAZY loads it, as vAccel retries.
      writeFileSync(join(dir, 'dep.c'), 'int lazy_dep(void) { return 7; }\n');
      writeFileSync(
        join(dir, 'lazy.c'),
        '#include <stddef.h>\nint later(void);\nint lazy_dep(void);\nint never_called(void) { return later(); }\n' +
          'int answer(void *r, size_t nr, void *w, size_t nw) { (void)r; (void)nr; (void)w; (void)nw; return lazy_dep() - 7; }\n',
      );
      execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libdep.so'), join(dir, 'dep.c')]);
      execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'liblazy.so'), join(dir, 'lazy.c')]);
      const lazy = await session.registerResource([join(dir, 'libdep.so'), join(dir, 'liblazy.so')]);
      expect(await session.execWithResource(lazy, 'answer', {})).toEqual({ status: 0, write: [] });
      // Called directly, the same library is refused: only resources retry lazily.
      const strict = await failure(host.call(join(dir, 'liblazy.so'), 'answer', {}, { abi: 'vaccel' }));
      expect(strict.code).toBe('LOAD_ERROR');
      expect(strict.message).toContain('undefined symbol');
    } finally {
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one library per worker', () => {
  it('keeps two builds of libvaccel.so.0 (one symbol, two meanings) apart when their libraries are called alternately', async () => {
    const host = trackedHost({ workers: 1 });
    const which = { write: [{ string: 16 }] };
    for (let round = 0; round < 3; round += 1) {
      expect(await host.call(MAIN, 'which_vaccel', which, { abi: 'vaccel' })).toEqual({ status: 0, write: ['main'] });
      expect(await host.call(V07, 'which_vaccel', which, { abi: 'vaccel' })).toEqual({ status: 0, write: ['v0.7'] });
    }
    expect(host.workerPids).toHaveLength(1);
  });

  it('serves calls of two libraries in flight from two workers, and shares a worker only when told to', async () => {
    const host = trackedHost({ workers: 2 });
    const which = { write: [{ string: 16 }] };
    const results = await Promise.all([MAIN, V07, MAIN, V07].map((library) => host.call(library, 'which_vaccel', which, { abi: 'vaccel' })));
    expect(results.map((r) => (r as { write: string[] }).write[0])).toEqual(['main', 'v0.7', 'main', 'v0.7']);
    const shared = trackedHost({ workers: 1, shareWorkers: true });
    expect(await shared.call(MAIN, 'which_vaccel', which, { abi: 'vaccel' })).toEqual({ status: 0, write: ['main'] });
    // One worker for both: the v0.7 library binds to the libvaccel.so.0 already loaded, main's, which lacks v0.7's nonserial helpers.
    const clash = await failure(shared.call(V07, 'which_vaccel', which, { abi: 'vaccel' }));
    expect(clash.code).toBe('LOAD_ERROR');
    expect(clash.message).toMatch(/undefined symbol: vaccel_(extract|write)_nonserial_arg/);
    expect(await shared.call(MAIN, 'mytestfunc', double, { abi: 'vaccel' })).toEqual({ status: 0, write: [20] });
  });

  it('sends each library back to the worker that serves it', async () => {
    const host = trackedHost({ workers: 2 });
    const pid = 'int getpid(void)';
    const types = await host.call(fixture('types'), pid);
    const hostile = await host.call(fixture('hostile'), pid);
    expect(hostile).not.toBe(types);
    for (let round = 0; round < 3; round += 1) {
      expect(await host.call(fixture('types'), pid)).toBe(types);
      expect(await host.call(fixture('hostile'), pid)).toBe(hostile);
    }
    expect(host.workerPids.sort()).toEqual([types, hostile].sort());
  });

  it('loads a library rebuilt on disk afresh, in a fresh worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-rebuilt-'));
    try {
      const library = join(dir, 'libversion.so');
      const build = (value: number) => {
        writeFileSync(join(dir, 'version.c'), `int version(void) { return ${value}; }\n`);
        execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'next.so'), join(dir, 'version.c')]);
        renameSync(join(dir, 'next.so'), library);
      };
      build(1);
      const host = trackedHost({ workers: 1 });
      expect(await host.call(library, 'int version(void)')).toBe(1);
      const [first] = host.workerPids;
      expect(await host.call(library, 'int version(void)')).toBe(1);
      build(2);
      expect(await host.call(library, 'int version(void)')).toBe(2);
      expect(host.workerPids).not.toContain(first);
      expect(await host.call(library, 'int version(void)')).toBe(2);
      // A session's worker is never replaced under it (its pointers and resources live there): it refuses the rebuilt file.
      const session = await host.session();
      try {
        expect(await session.call(library, 'int version(void)')).toBe(2);
        const resource = await session.registerResource(library);
        build(3);
        const refused = await failure(session.call(library, 'int version(void)'));
        expect(refused).toMatchObject({ code: 'LOAD_ERROR', details: { library, path: library, changed: true } });
        expect(refused.message).toBe(`Library ${JSON.stringify(library)} (${library}) changed on disk since this worker loaded it, and a session's worker keeps what it loaded: open a new session to load it afresh`);
        expect((await failure(session.registerResource(library))).code).toBe('LOAD_ERROR');
        // What it registered before still runs (version() returns 2, a non-zero status to vAccel), and the session goes on.
        expect(await failure(session.execWithResource(resource, 'version', {}))).toMatchObject({ code: 'PLUGIN_ERROR', status: 2 });
        await session.noop();
      } finally {
        await session.close();
      }
      expect(await host.call(library, 'int version(void)')).toBe(3);
      // Rewritten in place (the same inode, as cp does) rather than replaced: also noticed.
      const inode = statSync(library).ino;
      writeFileSync(join(dir, 'version.c'), 'int version(void) { return 4; }\n');
      execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'four.so'), join(dir, 'version.c')]);
      copyFileSync(join(dir, 'four.so'), library);
      expect(statSync(library).ino).toBe(inode);
      expect(await host.call(library, 'int version(void)')).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a library that attacks the watch on its own file', () => {
  it('putting another file in place of the watch descriptor does not get it served stale: the worker stats instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-watch-'));
    try {
      const library = join(dir, 'libsneaky.so');
      const build = (value: number) => {
        // replace_watch finds the worker's inotify descriptor in /proc/self/fd and puts /dev/null
        // in its place (dup2: the lowest free descriptor stays, so the worker's hygiene sees nothing).
        writeFileSync(
          join(dir, 'sneaky.c'),
          '#include <dirent.h>\n#include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n' +
            `int version(void) { return ${value}; }\n` +
            'int replace_watch(void) { DIR *d = opendir("/proc/self/fd"); struct dirent *e; int target_fd = -1; char path[64], target[256];\n' +
            '  while ((e = readdir(d)) != NULL) { snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name); ssize_t n = readlink(path, target, sizeof target - 1);\n' +
            '    if (n > 0) { target[n] = 0; if (strstr(target, "inotify")) target_fd = atoi(e->d_name); } }\n' +
            '  closedir(d); if (target_fd < 0) return 0; int null_fd = open("/dev/null", O_RDONLY); dup2(null_fd, target_fd); close(null_fd); return 1; }\n',
        );
        execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'next.so'), join(dir, 'sneaky.c')]);
        renameSync(join(dir, 'next.so'), library);
      };
      build(1);
      const host = trackedHost({ workers: 1 });
      expect(await host.call(library, 'int replace_watch(void)')).toBe(1);
      const [pid] = host.workerPids;
      expect(await host.call(library, 'int version(void)')).toBe(1);
      // The same worker, its watch gone.
      expect(host.workerPids).toEqual([pid]);
      build(2);
      expect(await host.call(library, 'int version(void)')).toBe(2);
      expect(host.workerPids).not.toContain(pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the environment a vAccel library needs', () => {
  it('finds libvaccel.so.0 through the caller LD_LIBRARY_PATH for plugin-run call, and through --env', () => {
    const args = ['call', MAIN_PLAIN, 'mytestfunc', '--read', 'int32:10', '--write', 'int32', '--json'];
    const bare = { ...process.env };
    delete bare.LD_LIBRARY_PATH;
    const missing = pluginRun(args, { env: bare });
    expect(JSON.parse(missing.stdout).error.code).toBe('LOAD_ERROR');
    expect(JSON.parse(missing.stdout).error.message).toContain('libvaccel.so.0: cannot open shared object file');
    expect(JSON.parse(missing.stdout).error.message).toContain('the worker starts from a clean environment');
    const passed = pluginRun(args, { env: { ...bare, LD_LIBRARY_PATH: join(VACCEL, 'main/lib') } });
    expect(JSON.parse(passed.stdout)).toEqual({ ok: true, result: { status: 0, write: [20] } });
    const set = pluginRun([...args, '--env', `LD_LIBRARY_PATH=${join(VACCEL, 'main/lib')}`], { env: bare });
    expect(JSON.parse(set.stdout)).toEqual({ ok: true, result: { status: 0, write: [20] } });
  });

  it('resolves a bare name for inspect as for call, loaded or not, and shares the names of host.inspect', async () => {
    const libm = pluginRun(['inspect', 'libm.so.6', '--json']);
    const result = JSON.parse(libm.stdout).result;
    expect(result).toMatchObject({ library: 'libm.so.6', abi: 'c', soname: 'libm.so.6', loaded: false });
    expect(result.path).toMatch(/^\/.*libm\.so\.6$/);
    expect(result.functions).toContain('cos');
    const loaded = JSON.parse(pluginRun(['inspect', '--load', 'libm.so.6', '--json']).stdout).result;
    expect(loaded).toMatchObject({ abi: 'c', loaded: true });
    // The loader resolved the same file (maybe through a link of another name).
    expect(realpathSync(loaded.path)).toBe(realpathSync(result.path));
    // Found through LD_LIBRARY_PATH as the loader would, without loading.
    const plain = JSON.parse(pluginRun(['inspect', 'libvaccel.so.0', '--json'], { env: { ...process.env, LD_LIBRARY_PATH: join(VACCEL, 'v0.7/lib') } }).stdout).result;
    expect(plain).toMatchObject({ path: join(VACCEL, 'v0.7/lib/libvaccel.so.0'), soname: 'libvaccel.so.0' });
    expect(plain.functions).toContain('vaccel_extract_serial_arg');
    const nowhere = pluginRun(['inspect', 'libnothing-here.so.9', '--json']);
    expect(nowhere.status).toBe(6);
    expect(JSON.parse(nowhere.stdout).error.message).toBe('No library of that name where the loader looks (LD_LIBRARY_PATH, the loader\'s cache, the system\'s directories): "libnothing-here.so.9"');
    // host.inspect's fields under the same names.
    const host = trackedHost();
    const api = await host.inspect(V07);
    const cli = JSON.parse(pluginRun(['inspect', '--load', V07, '--json']).stdout).result;
    for (const key of Object.keys(api)) expect(cli[key]).toEqual((api as Record<string, unknown>)[key]);
  });

  it('inspect runs no constructor unless --load: a library whose constructor crashes is listed, and crashes only when loaded', () => {
    const listed = pluginRun(['inspect', fixture('ctor_crash'), '--json']);
    expect(JSON.parse(listed.stdout).result).toMatchObject({ abi: 'c', loaded: false, functions: ['ctor_crash_dummy'] });
    const loaded = pluginRun(['inspect', '--load', '--timeout', '5s', fixture('ctor_crash'), '--json']);
    expect(JSON.parse(loaded.stdout).error).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
  });
});

