// The sandbox's pure parts: bubblewrap's command line, how its exit reads back, the policy of a
// `sandbox` option, what a host's sandboxed workers are shown, and what a command's spec shows.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_UID, SandboxUnavailable, bubblewrapArgs, findBubblewrap } from '../../packages/host/src/sandbox/bubblewrap.js';
import { execPaths } from '../../packages/host/src/sandbox/exec-paths.js';
import { sandboxPolicy } from '../../packages/host/src/sandbox/sandbox-options.js';
import { SandboxView } from '../../packages/host/src/sandbox/sandbox-view.js';
import { unwrapSandboxExit } from '../../packages/host/src/worker/worker-spawn.js';
import { fixture } from '../helpers/fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'airlock-sandbox-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("bubblewrap's arguments", () => {
  const mounts = [
    { kind: 'symlink' as const, path: '/lib', target: 'usr/lib' },
    { kind: 'ro' as const, path: '/usr' },
    { kind: 'rw' as const, path: '/tmp/airlock-worker-1' },
  ];

  it('make every namespace, uid and gid nobody, no capabilities and no nested user namespace', () => {
    const args = bubblewrapArgs({ network: false, mounts }, '/tmp/airlock-worker-1');
    for (const flag of ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--disable-userns', '--die-with-parent', '--new-session']) {
      expect(args).toContain(flag);
    }
    expect(args.slice(args.indexOf('--uid'), args.indexOf('--uid') + 2)).toEqual(['--uid', String(SANDBOX_UID)]);
    expect(args.slice(args.indexOf('--gid'), args.indexOf('--gid') + 2)).toEqual(['--gid', String(SANDBOX_UID)]);
    expect(args.slice(args.indexOf('--cap-drop'), args.indexOf('--cap-drop') + 2)).toEqual(['--cap-drop', 'ALL']);
  });

  it("keep the host's network only when asked", () => {
    expect(bubblewrapArgs({ network: true, mounts }, '/')).not.toContain('--unshare-net');
  });

  it('make /dev, /proc and /tmp before the binds (a temp dir below /tmp stays visible), then chdir', () => {
    const args = bubblewrapArgs({ network: false, mounts }, '/tmp/airlock-worker-1');
    const tmpfs = args.lastIndexOf('/tmp');
    expect(args[tmpfs - 1]).toBe('--tmpfs');
    expect(args.indexOf('--proc')).toBeLessThan(args.indexOf('--ro-bind'));
    expect(tmpfs).toBeLessThan(args.indexOf('--bind'));
    expect(args.slice(args.indexOf('--symlink'), args.indexOf('--symlink') + 3)).toEqual(['--symlink', 'usr/lib', '/lib']);
    expect(args.slice(args.indexOf('--ro-bind'), args.indexOf('--ro-bind') + 3)).toEqual(['--ro-bind', '/usr', '/usr']);
    expect(args.slice(args.indexOf('--bind'), args.indexOf('--bind') + 3)).toEqual(['--bind', '/tmp/airlock-worker-1', '/tmp/airlock-worker-1']);
    expect(args.slice(-2)).toEqual(['--chdir', '/tmp/airlock-worker-1']);
  });
});

describe('finding bubblewrap', () => {
  it('looks on PATH alone, and names how to install it when it is not there', () => {
    const saved = process.env.PATH;
    process.env.PATH = join(scratch, 'no-such-dir');
    try {
      expect(() => findBubblewrap()).toThrow(SandboxUnavailable);
      expect(() => findBubblewrap()).toThrow(/bubblewrap \(bwrap\), which is not on PATH \(.*no-such-dir\): install it \(Debian and Ubuntu: apt-get install bubblewrap/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("a sandboxed worker's exit", () => {
  it('reads 128 + N back as signal N, by the name Node gives it', () => {
    expect(unwrapSandboxExit(139)).toEqual({ exitCode: null, signal: 'SIGSEGV' });
    expect(unwrapSandboxExit(134)).toEqual({ exitCode: null, signal: 'SIGABRT' });
    expect(unwrapSandboxExit(137)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(unwrapSandboxExit(159)).toEqual({ exitCode: null, signal: 'SIGSYS' });
  });

  it('keeps any other status as it is', () => {
    expect(unwrapSandboxExit(0)).toEqual({ exitCode: 0, signal: null });
    expect(unwrapSandboxExit(3)).toEqual({ exitCode: 3, signal: null });
    expect(unwrapSandboxExit(128)).toEqual({ exitCode: 128, signal: null });
    expect(unwrapSandboxExit(255)).toEqual({ exitCode: 255, signal: null });
    expect(unwrapSandboxExit(null)).toEqual({ exitCode: null, signal: null });
  });
});

describe('the policy of a sandbox option', () => {
  it('is none for false or absent, the defaults for true', () => {
    expect(sandboxPolicy(undefined, '/')).toBeUndefined();
    expect(sandboxPolicy(false, '/')).toBeUndefined();
    expect(sandboxPolicy(true, '/')).toEqual({ network: false, readable: [], writable: [] });
  });

  it("resolves relative paths against the host's cwd", () => {
    writeFileSync(join(scratch, 'data.bin'), 'x');
    expect(sandboxPolicy({ network: true, readable: ['data.bin'], writable: ['.'] }, scratch)).toEqual({ network: true, readable: [join(scratch, 'data.bin')], writable: [scratch] });
  });

  it('refuses a path that does not exist, naming it', () => {
    expect(() => sandboxPolicy({ network: false, readable: [], writable: ['missing/dir'] }, scratch)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'sandbox.writable: "missing/dir" does not exist (a sandbox can only show an existing file or directory)' }),
    );
  });
});

describe("what a host's sandboxed workers are shown", () => {
  it("shows bare names (the loader's search) and paths under /usr or the policy's paths without asking", () => {
    const view = new SandboxView({ network: false, readable: [scratch], writable: [] });
    expect(view.shows('libm.so.6')).toBe(true);
    expect(view.shows('/usr/lib/x86_64-linux-gnu/libm.so.6')).toBe(true);
    expect(view.shows(join(scratch, 'lib.so'))).toBe(true);
    expect(view.shows(`${scratch}-sibling/lib.so`)).toBe(false);
  });

  it('shows a library by its file once exposed, and says whether that was new', async () => {
    const view = new SandboxView({ network: false, readable: [], writable: [] });
    const library = fixture('types');
    expect(view.shows(library)).toBe(false);
    expect(await view.expose(library)).toBe(true);
    expect(await view.expose(library)).toBe(false);
    expect(view.shows(library)).toBe(true);
    const { mounts, network } = view.spawn({ writable: ['/tmp/rundir'] });
    expect(network).toBe(false);
    expect(mounts).toContainEqual({ kind: 'ro', path: library });
    // The file, not its directory.
    expect(mounts).not.toContainEqual({ kind: 'ro', path: join(library, '..') });
    expect(mounts.at(-1)).toEqual({ kind: 'rw', path: '/tmp/rundir' });
    // A session's view of another policy still shows what the host's did.
    expect(view.derive({ network: true, readable: [], writable: [] }).shows(library)).toBe(true);
  });

  it("shows the system read-only and airlock's own runtime (Node, the worker package, koffi)", () => {
    const { mounts } = new SandboxView({ network: false, readable: [], writable: [] }).spawn();
    expect(mounts).toContainEqual({ kind: 'ro', path: '/usr' });
    expect(mounts.filter((mount) => mount.kind === 'rw')).toEqual([]);
    expect(mounts.some((mount) => mount.path === '/etc/shadow' || mount.path === '/etc')).toBe(false);
    expect(mounts.some((mount) => mount.kind === 'ro' && /koffi/.test(mount.path))).toBe(true);
  });
});

describe('what a sandboxed command is shown', () => {
  it('its cwd, tools and inputs read-only, the directories of its outputs writable (created)', () => {
    const input = join(scratch, 'input.txt');
    writeFileSync(input, 'in');
    const paths = execPaths({ cwd: scratch, tools: { sh: '/bin/sh' }, deps: { DATA: [input] }, out: [join(scratch, 'out/a/file.txt'), join(scratch, 'outdir/')] });
    expect(paths.readable).toEqual(expect.arrayContaining([scratch, '/bin/sh', input]));
    expect(paths.writable).toEqual([join(scratch, 'out/a'), join(scratch, 'outdir')]);
    expect(existsSync(join(scratch, 'out/a'))).toBe(true);
    expect(existsSync(join(scratch, 'outdir'))).toBe(true);
  });
});
