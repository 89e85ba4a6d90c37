// The sandbox keeps every promise of an unsandboxed host: each containment outcome comes out
// the same (code, signal, status, limit), the next call works, nothing is left behind; the
// workers are supervised by their real pids; a library is shown by its file with the libraries
// beside it that it needs (never its directory); sessions with resources, commands with SRC and
// OUT, the CLI and harness specs all run inside. Attacks on the host: sandbox.test.ts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HostOptions } from '@airlock/host';
import { fixture, isAlive, pluginRun } from '../helpers/fixtures.js';
import { HOSTILE, closeHosts, failure, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const scratch = mkdtempSync(join(tmpdir(), 'airlock-sandbox-it-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TYPES = () => fixture('types');
const ADD = 'int add(int a, int b)';

/** A sandboxed host, closed and checked after the test. */
function sandboxed(options: HostOptions = {}) {
  return trackedHost({ sandbox: true, ...options });
}

/**
 * The fields by which a failure is judged. A memory limit is reached either way the contract
 * allows (the host kills the worker as it nears the limit, or the worker dies of the allocation
 * that failed, with that signal): only its code and limit are compared.
 */
async function outcome(promise: Promise<unknown>) {
  const error = await failure(promise);
  if (error.limit === 'memory') return { code: error.code, limit: error.limit };
  return { code: error.code, signal: error.signal, exitCode: error.exitCode, limit: error.limit };
}

describe('containment inside the sandbox', () => {
  const cases: Array<[string, string, unknown[], HostOptions['limits'], Record<string, unknown>]> = [
    ['a segfault', 'int crash_segv(void)', [], {}, { code: 'CRASHED', signal: 'SIGSEGV', exitCode: undefined, limit: undefined }],
    ['an abort', 'int crash_abort(void)', [], {}, { code: 'CRASHED', signal: 'SIGABRT', exitCode: undefined, limit: undefined }],
    ['a SIGKILL of itself', 'int kill_self(void)', [], {}, { code: 'CRASHED', signal: 'SIGKILL', exitCode: undefined, limit: undefined }],
    ['exit(3)', 'int exit_with(int)', [3], {}, { code: 'CRASHED', signal: undefined, exitCode: 3, limit: undefined }],
    ['a hang past its timeout', 'int spin_forever(void)', [], { timeoutMs: 300 }, { code: 'TIMEOUT', signal: undefined, exitCode: undefined, limit: undefined }],
    ['a malloc bomb', 'int malloc_bomb(void)', [], { memoryBytes: 64 << 20 }, { code: 'LIMIT_EXCEEDED', limit: 'memory' }],
    ['a fork bomb', 'int fork_bomb(void)', [], { maxProcesses: 16 }, { code: 'LIMIT_EXCEEDED', signal: undefined, exitCode: undefined, limit: 'processes' }],
    ['a CPU burn', 'int cpu_burn_ms(int)', [5000], { cpuMs: 200 }, { code: 'LIMIT_EXCEEDED', signal: undefined, exitCode: undefined, limit: 'cpu' }],
    ['an output flood', 'int flood_stdout(int)', [64], { maxOutputBytes: 1 << 20 }, { code: 'LIMIT_EXCEEDED', signal: undefined, exitCode: undefined, limit: 'output' }],
  ];

  it.each(cases)('%s ends as it does unsandboxed, and the next call works', async (_what, fn, args, limits, expected) => {
    const plain = trackedHost({ limits });
    const box = sandboxed({ limits });
    const [unsandboxed, inside] = await Promise.all([outcome(plain.call(HOSTILE(), fn, args)), outcome(box.call(HOSTILE(), fn, args))]);
    expect(unsandboxed).toEqual(expected);
    expect(inside).toEqual(expected);
    expect(await box.call(TYPES(), ADD, [2, 3])).toBe(5);
  });

  it('a thread left running retires the worker after its call, as unsandboxed', async () => {
    const box = sandboxed();
    expect(await box.call(HOSTILE(), 'int spawn_threads(int)', [2])).toBe(2);
    const [first] = box.workerPids;
    expect(await box.call(TYPES(), ADD, [2, 3])).toBe(5);
    expect(box.workerPids).not.toContain(first);
  });

  it('supervises the worker by its real pid: the one /proc shows, two PID namespaces deep', async () => {
    const box = sandboxed();
    expect(await box.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    const [pid] = box.workerPids;
    expect(isAlive(pid!)).toBe(true);
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    // NSpid: its pid here, then in its own namespace (bubblewrap's init is 1 there).
    expect(/^NSpid:\s+(\d+)\s+(\d+)$/m.exec(status)?.slice(1)).toEqual([String(pid), '2']);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1')).toContain('lifecycle/entry.js');
    const error = await failure(box.call(HOSTILE(), 'int crash_segv(void)'));
    expect(error.workerPid).toBe(pid);
  });
});

describe('what a sandboxed worker sees', () => {
  // A library that needs another one beside it (RUNPATH $ORIGIN), and a secret in the same directory.
  const dir = join(scratch, 'vendor');
  const secret = join(dir, 'secret.txt');
  const user = join(dir, 'libuser.so');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'dep.c'), 'int dep_value(void) { return 41; }\n');
  writeFileSync(join(dir, 'user.c'), 'int dep_value(void);\nint user_value(void) { return dep_value() + 1; }\n');
  execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libdep.so'), join(dir, 'dep.c')]);
  execFileSync('cc', ['-shared', '-fPIC', '-o', user, join(dir, 'user.c'), `-L${dir}`, '-ldep', '-Wl,-rpath,$ORIGIN']);
  writeFileSync(secret, 'the secret\n');
  const open = 'int open(const char *path, int flags)';

  it('a library with the libraries beside it that it needs, not the rest of its directory', async () => {
    const box = sandboxed();
    expect(await box.call(user, 'int user_value(void)')).toBe(42);
    expect(await box.call('libc.so.6', open, [secret, 0])).toBe(-1);
    // Unsandboxed, the same call opens it: the sandbox is what hides it.
    const plain = trackedHost();
    expect(await plain.call('libc.so.6', open, [secret, 0])).toBeGreaterThan(2);
  });

  it('a readable path when the policy names it, read-only', async () => {
    const box = sandboxed({ sandbox: { readable: [secret] } });
    expect(await box.call('libc.so.6', open, [secret, 0])).toBeGreaterThan(2);
    // O_WRONLY: a read-only bind.
    expect(await box.call('libc.so.6', open, [secret, 1])).toBe(-1);
    expect(readFileSync(secret, 'utf8')).toBe('the secret\n');
  });

  it('a library called later: the workers that cannot see it are replaced, the next ones see both', async () => {
    // Shared workers (by default each library has workers of its own, started after it was shown).
    const box = sandboxed({ shareWorkers: true });
    expect(await box.call(TYPES(), ADD, [2, 3])).toBe(5);
    const [first] = box.workerPids;
    expect(await box.call(user, 'int user_value(void)')).toBe(42);
    expect(box.workerPids).not.toContain(first);
    const [second] = box.workerPids;
    expect(await box.call(TYPES(), ADD, [2, 3])).toBe(5);
    expect(box.workerPids).toEqual([second]);
    // One library per worker: a standby worker started before the second library was shown is not given its calls.
    const own = sandboxed({ standby: 1 });
    expect(await own.call(TYPES(), ADD, [2, 3])).toBe(5);
    await expect.poll(() => own.workerPids.length, { timeout: 10_000 }).toBe(2);
    const before = own.workerPids;
    expect(await own.call(user, 'int user_value(void)')).toBe(42);
    expect(await own.call(TYPES(), ADD, [2, 3])).toBe(5);
    expect(own.workerPids.filter((pid) => !before.includes(pid)).length).toBeGreaterThan(0);
  });

  it('sha256 pinning holds inside: the right digest loads, a wrong one is LOAD_ERROR and the next call works', async () => {
    const box = sandboxed();
    const digest = createHash('sha256').update(readFileSync(TYPES())).digest('hex');
    expect(await box.call(TYPES(), ADD, [2, 3], { sha256: digest })).toBe(5);
    const wrong = await failure(box.call(TYPES(), ADD, [2, 3], { sha256: '0'.repeat(64) }));
    expect(wrong.code).toBe('LOAD_ERROR');
    expect(wrong.message).toContain(digest);
    expect(await box.call(TYPES(), ADD, [2, 3])).toBe(5);
  });

  it("its own uid (nobody) and PID namespace, not the host's", async () => {
    const box = sandboxed();
    expect(await box.call('libc.so.6', 'int getuid(void)')).toBe(65534);
    expect(await box.call('libc.so.6', 'int getgid(void)')).toBe(65534);
    expect(await box.call('libc.so.6', 'int getpid(void)')).toBe(2);
    expect(await box.call('libc.so.6', 'int getppid(void)')).toBe(1);
  });
});

describe('sessions, commands, the CLI and harness specs in the sandbox', () => {
  it('the three ABIs: a C prototype, an Arroyo plugin (inspected, then called), a vAccel exec', async () => {
    const box = sandboxed();
    expect(await box.call(TYPES(), ADD, [20, 22])).toBe(42);
    expect(await box.inspect(fixture('arroyo_u64sum'))).toMatchObject({ abi: 'arroyo' });
    expect(await box.call(fixture('arroyo_u64sum'), 'u64sum', [2n ** 63n, 2n ** 62n + 1n], { abi: 'arroyo' })).toBe(2n ** 63n + 2n ** 62n + 1n);
    expect(await box.call(fixture('vaccel_ops'), 'mytestfunc', { read: [{ int32: 5 }], write: [{ int32: null }] }, { abi: 'vaccel' })).toEqual({ status: 0, write: [10] });
  });

  it('a session registers resources from paths and bytes, and calls them, its rundir writable', async () => {
    const box = sandboxed();
    const session = await box.session();
    try {
      const resource = await session.registerResource([fixture('vaccel_dep_base'), fixture('vaccel_dep_user')]);
      expect(await session.execWithResource(resource, 'use_dep', { read: [], write: [{ int32: null }] })).toEqual({ status: 0, write: [42] });
      const bytes = await session.registerResource({ data: new Uint8Array(readFileSync(fixture('vaccel_ops'))), filename: 'libops.so' });
      expect(await session.execWithResource(bytes, 'mytestfunc', { read: [{ int32: 4 }], write: [{ int32: null }] })).toEqual({ status: 0, write: [8] });
      const error = await failure(session.call(fixture('hostile'), 'int crash_segv(void)'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('runs in a sandbox that does not show');
    } finally {
      await session.close();
    }
  });

  it('a command runs its tools, reads its SRC and writes its OUT, and nothing else of the workspace', async () => {
    const box = sandboxed();
    const work = mkdtempSync(join(scratch, 'ws-'));
    writeFileSync(join(work, 'in.txt'), 'hello\n');
    writeFileSync(join(work, 'other.txt'), 'private\n');
    const tool = join(work, 'shout.sh');
    writeFileSync(tool, '#!/bin/sh\ntr a-z A-Z\n', { mode: 0o755 });
    const result = await box.exec({
      run: 'shout < "$SRC" > "$OUT"; id -u',
      tools: { shout: tool },
      deps: [join(work, 'in.txt')],
      out: [join(work, 'out/o.txt')],
      workspaceRoot: work,
      cwd: 'out',
    });
    expect(result.stdout).toBe('65534\n');
    expect(readFileSync(join(work, 'out/o.txt'), 'utf8')).toBe('HELLO\n');
    const outside = await failure(box.exec({ run: `cat ${join(work, 'other.txt')}` }));
    expect(outside.code).toBe('PLUGIN_ERROR');
    expect(outside.exitCode).toBe(1);
  });

  it('plugin-run call --sandbox prints the result; a missing --sandbox-read path is INVALID_ARGUMENT (2)', () => {
    expect(pluginRun(['call', '--sandbox', TYPES(), ADD, '2', '3'])).toEqual({ status: 0, stdout: '5\n', stderr: '' });
    const missing = pluginRun(['call', '--sandbox-read', join(scratch, 'nowhere'), TYPES(), ADD, '2', '3']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`sandbox.readable: ${JSON.stringify(join(scratch, 'nowhere'))} does not exist`);
  });

  it('without bubblewrap on PATH a sandboxed call is UNAVAILABLE (7) naming how to install it, never an unsandboxed run', () => {
    const run = pluginRun(['call', '--sandbox', TYPES(), ADD, '2', '3'], { env: { ...process.env, PATH: join(scratch, 'empty') } });
    expect(run.status).toBe(7);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('UNAVAILABLE');
    expect(run.stderr).toContain('The sandbox needs bubblewrap (bwrap), which is not on PATH');
    expect(run.stderr).toContain('apt-get install bubblewrap');
  });

  it('plugin-run harness runs a spec with sandbox: true', () => {
    const spec = join(scratch, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        library: HOSTILE(),
        sandbox: true,
        cases: [
          { name: 'uid', fn: 'int sleep_ms(int)', args: [1], expect: { result: 1 } },
          { name: 'segv', fn: 'int crash_segv(void)', expect: { code: 'CRASHED', signal: 'SIGSEGV' } },
        ],
      }),
    );
    const run = pluginRun(['harness', '--json', spec]);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; summary: { passed: number; failed: number } };
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({ passed: 2, failed: 0 });
  });
});
