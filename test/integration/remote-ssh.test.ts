// Workers started through a real ssh connection (a loopback sshd of the test's own), as a host's
// `workers: [{ launcher, count }]` starts them: the far side runs `airlock-worker --remote` (the
// default command, found on the PATH the daemon gives its sessions), given the worker's
// environment in the launch line. Checked for real: calls, values, environment and output;
// shipping a library the far side cannot see; a far-side segfault; a timeout; the ssh client
// killed and the connection cut mid-call; a far side that refuses; a far side of another
// protocol; a harness run spread over local and ssh workers; nothing left on either side.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostOptions, createHost } from '@airlock/host';
import { AIRLOCK_VERSION, remoteLaunchLine, remoteSignalLine } from '@airlock/protocol';
import { type LoopbackSshd, startLoopbackSshd } from '../helpers/sshd.js';
import { CLI, ROOT, eventually, failure, fixture, isAlive, pluginRun, processesMatching } from '../helpers/fixtures.js';

/** The worker's bin, as installing @airlock/worker puts it on the far side's PATH. */
const REMOTE_WORKER = join(ROOT, 'packages/worker/bin/airlock-worker.js');
const COS = 'double cos(double)';

let sshd: LoopbackSshd;
/** Scratch of this file: the far side's PATH and shipped-library cache, and libraries only the host sees. */
let scratch: string;
let shippedDir: string;
/** A directory the far side's workers cannot see (a tmpfs is mounted over it there), holding a copy of the hostile fixture. */
let hiddenDir: string;
let hiddenLibrary: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'airlock-test-remote-'));
  const bin = join(scratch, 'bin');
  mkdirSync(bin);
  symlinkSync(REMOTE_WORKER, join(bin, 'airlock-worker'));
  shippedDir = join(scratch, 'shipped');
  // The far side's Node is this one (its bin runs `env node`); its cache is the test's own.
  sshd = await startLoopbackSshd({ env: { PATH: [bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':'), AIRLOCK_SHIPPED_DIR: shippedDir } });
  hiddenDir = mkdtempSync(join(scratch, 'host-only-'));
  hiddenLibrary = join(hiddenDir, 'libhostonly.so');
  copyFileSync(fixture('hostile'), hiddenLibrary);
});

afterAll(async () => {
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The far side's default command, in a mount namespace of its own where `hiddenDir` is an empty tmpfs: the far side cannot see the host's file. */
function hidingFarSide(): string[] {
  return ['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs tmpfs "$1" && shift && exec "$@"', 'sh', hiddenDir, 'airlock-worker', '--remote'];
}

/** A host whose workers all run through ssh. */
function sshHost(options: HostOptions = {}, count = 1, command?: string[]) {
  return createHost({ startTimeoutMs: 20_000, ...options, workers: [{ launcher: sshd.ssh, count, ...(command !== undefined && { command }) }] });
}

/** A process's command line and its parent (undefined once it is gone). */
function processInfo(pid: number): { args: string[]; parent: number } | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    const parent = Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    return { args, parent };
  } catch {
    return undefined;
  }
}

/** Whether `ancestor` is among the parents of `pid`. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let at = processInfo(pid)?.parent; at !== undefined && at > 1; at = processInfo(at)?.parent) if (at === ancestor) return true;
  return false;
}

/**
 * Pids of the far side's processes: each `airlock-worker --remote` (Node running the bin, under
 * this file's sshd; not the ssh clients, whose arguments name it too) and the worker it runs.
 */
function remoteWorkers(): number[] {
  const supervisors = processesMatching('airlock-worker --remote').filter((pid) => {
    const args = processInfo(pid)?.args ?? [];
    return basename(args[0] ?? '') === 'node' && basename(args[1] ?? '') === 'airlock-worker' && descendsFrom(pid, sshd.pid);
  });
  const workers = processesMatching('lifecycle/entry.js').filter((pid) => supervisors.includes(processInfo(pid)?.parent ?? -1));
  return [...supervisors, ...workers];
}

/** The sshd process that serves one connection: the far side's nearest ancestor that is sshd. */
function sshdSessionOf(pid: number): number | undefined {
  for (let at = processInfo(pid)?.parent; at !== undefined && at > 1; at = processInfo(at)?.parent) {
    if ((processInfo(at)?.args[0] ?? '').startsWith('sshd')) return at;
  }
  return undefined;
}

/** The temp dirs far-side supervisors made (`airlock-remote-<pid>-…` in the far side's temp dir, this machine's). */
function remoteTempDirs(pids: number[]): string[] {
  return readdirSync(tmpdir()).filter((name) => pids.some((pid) => name.startsWith(`airlock-remote-${pid}-`)));
}

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('workers through ssh', () => {
  it('runs calls on a pool of local and ssh workers, with their values, environment and output', async () => {
    const host = createHost({ workers: [{ launcher: sshd.ssh, count: 1 }, { count: 1 }], env: { AIRLOCK_TEST_VAR: 'far' }, callOutput: true, startTimeoutMs: 20_000, eager: true });
    const started: string[] = [];
    host.on('worker-start', (event) => started.push(event.where));
    try {
      await eventually(() => host.workerPids.length === 2, 20_000);
      // Each worker says where it runs.
      expect(started.sort()).toEqual(['local', sshd.ssh.join(' ')].sort());
      const values = await Promise.all([0, 1, 2, 3].map((x) => host.call<number>('libm.so.6', COS, [x])));
      expect(values).toEqual([0, 1, 2, 3].map(Math.cos));
      expect(remoteWorkers()).toHaveLength(2);
    } finally {
      await host.close();
    }
    const remote = sshHost({ env: { AIRLOCK_TEST_VAR: 'far' }, callOutput: true });
    try {
      // The host's env reaches the far side's worker through the launch line (ssh carries none).
      expect(await remote.call('libc.so.6', 'const char *getenv(const char *)', ['AIRLOCK_TEST_VAR'])).toBe('far');
      const event = new Promise<{ output?: string[] }>((resolve) => remote.once('call', resolve));
      expect(await remote.call(fixture('hostile'), 'int print_and_return(int)', [8])).toBe(8);
      expect((await event).output?.join('\n')).toContain('8');
      // The host's workers are ssh clients; the workers themselves are children of sshd.
      for (const pid of remoteWorkers()) expect(remote.workerPids).not.toContain(pid);
    } finally {
      await remote.close();
    }
  });

  it('ships a library only the host side has, by its content, and the far side keeps it by hash', async () => {
    const host = sshHost({}, 1, hidingFarSide());
    const sha256 = sha256Of(hiddenLibrary);
    try {
      // The far side does not see the host's file: unshipped, it cannot load.
      const unshipped = await failure(host.call(hiddenLibrary, 'int print_and_return(int)', [1]));
      expect(unshipped.code).toBe('LOAD_ERROR');
      expect(unshipped.message).toContain(hiddenLibrary);
      expect(await host.call(hiddenLibrary, 'int print_and_return(int)', [2], { ship: true })).toBe(2);
      expect(sha256Of(join(shippedDir, sha256))).toBe(sha256);
      // A pinned hash ships by itself; `ship: false` says not to.
      expect(await host.call(hiddenLibrary, 'int print_and_return(int)', [3], { sha256 })).toBe(3);
      const refused = await failure(host.call(hiddenLibrary, 'int print_and_return(int)', [4], { sha256, ship: false }));
      expect(refused.code).toBe('LOAD_ERROR');
    } finally {
      await host.close();
    }
    // A cache entry altered on the far side is not trusted: the next worker gets the content again.
    writeFileSync(join(shippedDir, sha256), 'not the library');
    const again = sshHost({ ship: true }, 1, hidingFarSide());
    try {
      expect(await again.call(hiddenLibrary, 'int print_and_return(int)', [5])).toBe(5);
      expect(sha256Of(join(shippedDir, sha256))).toBe(sha256);
      // A pin the host's file does not match fails before anything is sent.
      const mismatch = await failure(again.call(hiddenLibrary, 'int print_and_return(int)', [6], { sha256: '0'.repeat(64) }));
      expect(mismatch.code).toBe('LOAD_ERROR');
      expect(mismatch.message).toContain(`Checksum mismatch for ${JSON.stringify(hiddenLibrary)}`);
      const bare = await failure(again.call('libm.so.6', COS, [0]));
      expect(bare.code).toBe('INVALID_ARGUMENT');
      expect(bare.message).toContain('ship sends a file, so the library must be given by path, got "libm.so.6"');
      expect(await again.call('libm.so.6', COS, [0], { ship: false })).toBe(1);
    } finally {
      await again.close();
    }
    // A library too large for the channel is refused before it is sent, naming the option (a
    // content the far side has not cached: trailing bytes change the hash, not the library).
    const padded = join(hiddenDir, 'libpadded.so');
    writeFileSync(padded, Buffer.concat([readFileSync(hiddenLibrary), Buffer.from('padding')]));
    const small = sshHost({ ship: true, maxFrameBytes: 8192 }, 1, hidingFarSide());
    try {
      const tooLarge = await failure(small.call(padded, 'int print_and_return(int)', [7]));
      expect(tooLarge.code).toBe('INVALID_ARGUMENT');
      expect(tooLarge.message).toMatch(/to ship, over its 8192-byte frame limit: raise the host's maxFrameBytes option$/);
      expect(await small.call('libm.so.6', COS, [0], { ship: false })).toBe(1);
    } finally {
      await small.close();
    }
  });

  it('opens a session on a launched worker: resources given by path travel as bytes into its own rundir there', async () => {
    const copy = (name: string) => {
      const path = join(hiddenDir, `lib${name}.so`);
      copyFileSync(fixture(name), path);
      return path;
    };
    // vaccel_dep_user is linked against vaccel_dep_base, which has no SONAME: found by file name.
    const [base, user, ops] = [copy('vaccel_dep_base'), copy('vaccel_dep_user'), copy('vaccel_ops')];
    const host = sshHost({}, 1, hidingFarSide());
    try {
      const session = await host.session();
      const remote = remoteWorkers();
      expect(remote).toHaveLength(2);
      // The rundir is the far side's: inside its worker's temp dir.
      expect(session.rundir).toMatch(/\/airlock-remote-\d+-[^/]+\/session$/);
      const resource = await session.registerResource([base, user]);
      expect(resource.dir).toBe(`${session.rundir}/resource.${resource.id}`);
      expect(resource.files.map((file) => basename(file))).toEqual(['libvaccel_dep_base.so', 'libvaccel_dep_user.so']);
      expect(await session.execWithResource(resource, 'use_dep', { read: [], write: [{ int32: null }] })).toEqual({ status: 0, write: [42] });
      // A session's own call of a library only the host has: shipped, or refused by the far side.
      const unshipped = await failure(session.exec(ops, 'mytestfunc', { read: [{ int32: 5 }], write: [{ int32: null }] }));
      expect(unshipped.code).toBe('LOAD_ERROR');
      expect(await session.exec(ops, 'mytestfunc', { read: [{ int32: 5 }], write: [{ int32: null }] }, { ship: true })).toEqual({ status: 0, write: [10] });
      await session.close();
      expect(await eventually(() => remote.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      const refused = await failure(host.session({ group: 1 }));
      expect(refused.code).toBe('INVALID_ARGUMENT');
      expect(refused.message).toBe('Invalid session options: group: the host has 1 group(s) of workers, numbered from 0 (got 1)');
    } finally {
      await host.close();
    }
  });

  it('classifies a far side segfault as CRASHED with SIGSEGV, and the next call succeeds', async () => {
    const host = sshHost();
    try {
      const error = await failure(host.call(fixture('hostile'), 'int crash_segv(void)', []));
      expect(error.code).toBe('CRASHED');
      expect(error.signal).toBe('SIGSEGV');
      expect(error.exitCode).toBeUndefined();
      expect(error.message).toContain('crashed with SIGSEGV while calling int crash_segv(void)');
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
      // A plugin that forges the far side's signal line, then exits with 128 + SIGSEGV by itself,
      // is told apart: the far side's own last line says the status was the worker's.
      const exited = await failure(host.call(fixture('hostile'), 'int say_then_exit(const char *, int)', [remoteSignalLine('SIGSEGV'), 139]));
      expect(exited).toMatchObject({ code: 'CRASHED', exitCode: 139 });
      expect(exited.signal).toBeUndefined();
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await host.close();
    }
  });

  it('ends the far side worker of a call that timed out, and the next call succeeds', async () => {
    const host = sshHost();
    try {
      // The worker serves the library it loaded first: the call that times out runs on this one.
      expect(await host.call(fixture('hostile'), 'int print_and_return(int)', [1])).toBe(1);
      const [client] = host.workerPids;
      const remote = remoteWorkers();
      expect(remote).toHaveLength(2);
      const error = await failure(host.call(fixture('hostile'), 'int spin_forever(void)', [], { timeoutMs: 500 }));
      expect(error.code).toBe('TIMEOUT');
      expect(error.workerPid).toBe(client);
      expect(error.message).toContain('Timed out after 500 ms');
      // Killing the ssh client closes the connection: the worker spinning on the far side goes too.
      expect(await eventually(() => remote.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await host.close();
    }
  });

  it('settles a call whose ssh client is killed mid-call at once as UNAVAILABLE, ends the far side, and the next call succeeds', async () => {
    const host = sshHost();
    let remote: number[] = [];
    try {
      expect(await host.call(fixture('hostile'), 'int print_and_return(int)', [1])).toBe(1);
      const [client] = host.workerPids;
      remote = remoteWorkers();
      expect(remote).toHaveLength(2);
      const call = failure(host.call(fixture('hostile'), 'int sleep_forever(void)', []));
      await new Promise((r) => setTimeout(r, 300));
      process.kill(client!, 'SIGKILL');
      const error = await call;
      // The worker did not crash: the connection to it is gone.
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toBe('The connection to the worker was lost while calling int sleep_forever(void) in ' + fixture('hostile') + ': its ssh client was killed by SIGKILL; the call may have run');
      expect(error.details).toEqual({ transport: 'ssh', transportSignal: 'SIGKILL' });
      expect(error.workerPid).toBe(client);
      expect(await eventually(() => remote.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await host.close();
    }
    // The far side was killed (SIGKILL, by PR_SET_PDEATHSIG) before it could remove its worker's
    // temp dir: the next `airlock-worker --remote` on that machine did, as it started or ended.
    expect(await eventually(() => remoteTempDirs(remote).length === 0, 10_000)).toBe(true);
  });

  it('a connection cut on the far side mid-call is UNAVAILABLE quoting ssh, and the next call succeeds', async () => {
    const host = sshHost();
    try {
      expect(await host.call(fixture('hostile'), 'int print_and_return(int)', [1])).toBe(1);
      const remote = remoteWorkers();
      const session = sshdSessionOf(remote[0]!);
      expect(session).toBeGreaterThan(1);
      const call = failure(host.call(fixture('hostile'), 'int sleep_forever(void)', []));
      await new Promise((r) => setTimeout(r, 300));
      process.kill(session!, 'SIGKILL');
      const error = await call;
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toMatch(/^The connection to the worker was lost while calling int sleep_forever\(void\) in .*: ssh exited with status 255/);
      expect(error.details).toEqual({ transport: 'ssh', transportExitCode: 255 });
      expect(await eventually(() => remote.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await host.close();
    }
  });

  it('refuses maxProcesses on a worker it cannot watch, enforces memoryBytes and cpuMs there, and the next call succeeds', async () => {
    const host = sshHost();
    try {
      const error = await failure(host.call('libm.so.6', COS, [0], { maxProcesses: 4 }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('maxProcesses cannot be enforced on a worker reached through ssh');
      expect(error.details).toEqual({ limit: 'maxProcesses', transport: 'ssh' });
      // The limits the worker enforces itself hold there: a malloc bomb stops at its memory
      // limit, told from a plain segfault by the far side's word (its watcher's evidence is there).
      const bomb = await failure(host.call(fixture('hostile'), 'int malloc_bomb(void)', [], { memoryBytes: 64 << 20 }));
      expect(bomb).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'memory', signal: 'SIGSEGV' });
      // cpuMs holds by RLIMIT_CPU there, in whole seconds (the host's precise watch sees only ssh).
      const spin = await failure(host.call(fixture('hostile'), 'int spin_forever(void)', [], { cpuMs: 300 }));
      expect(spin).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'cpu', signal: 'SIGXCPU' });
      expect(await host.call('libm.so.6', COS, [0], { maxOpenFiles: 64, memoryBytes: 64 << 20 })).toBe(1);
    } finally {
      await host.close();
    }
  });

  it('a far side that refuses the connection is UNAVAILABLE quoting ssh and trips its group breaker, while local workers go on', async () => {
    // A port nothing listens on: sshd's own, once a throw-away daemon is stopped.
    const refusing = await startLoopbackSshd();
    await refusing.stop();
    const host = createHost({ workers: [{ launcher: refusing.ssh, count: 1 }], breakerThreshold: 2, breakerCooldownMs: 60_000 });
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const error = await failure(host.call('libm.so.6', COS, [0]));
        expect(error.code).toBe('UNAVAILABLE');
        expect(error.message).toContain(`port ${refusing.port}: Connection refused`);
      }
      const open = await failure(host.call('libm.so.6', COS, [0]));
      expect(open.code).toBe('UNAVAILABLE');
      expect(open.message).toMatch(/Connection refused\); not retrying for another \d+ ms/);
    } finally {
      await host.close();
    }
    // With a local group beside it, every call runs: on local workers, which take the slots of
    // the group that cannot start while its breaker is open.
    const mixed = createHost({ workers: [{ launcher: refusing.ssh, count: 1 }, { count: 1 }], breakerThreshold: 1, breakerCooldownMs: 60_000 });
    try {
      const values = await Promise.all([0, 0, 0].map((x) => mixed.call('libm.so.6', COS, [x])));
      expect(values).toEqual([1, 1, 1]);
      expect(mixed.workerPids.length).toBeGreaterThanOrEqual(1);
      for (const pid of mixed.workerPids) expect(processInfo(pid)?.args[0]).toBe(process.execPath);
    } finally {
      await mixed.close();
    }
  });

  it("a group's own pipeline bounds the calls its workers are sent ahead", async () => {
    const host = createHost({ workers: [{ launcher: sshd.ssh, count: 1, pipeline: 1 }], startTimeoutMs: 20_000 });
    try {
      expect(await host.call(fixture('hostile'), 'int sleep_ms(int)', [1])).toBe(1);
      const calls = [host.call(fixture('hostile'), 'int sleep_ms(int)', [400]), host.call(fixture('hostile'), 'int sleep_ms(int)', [1])];
      await new Promise((r) => setTimeout(r, 100));
      // One call on the far side, the other still here: nothing is behind the running one there.
      expect(host.stats()).toMatchObject({ queued: 1, running: 1 });
      expect(await Promise.all(calls)).toEqual([400, 1]);
    } finally {
      await host.close();
    }
    const ahead = createHost({ workers: [{ launcher: sshd.ssh, count: 1 }], startTimeoutMs: 20_000 });
    try {
      expect(await ahead.call(fixture('hostile'), 'int sleep_ms(int)', [1])).toBe(1);
      const calls = [ahead.call(fixture('hostile'), 'int sleep_ms(int)', [400]), ahead.call(fixture('hostile'), 'int sleep_ms(int)', [1])];
      await new Promise((r) => setTimeout(r, 100));
      // The host's pipeline (32): both are on their way to the far side.
      expect(ahead.stats()).toMatchObject({ queued: 0, running: 2 });
      expect(await Promise.all(calls)).toEqual([400, 1]);
    } finally {
      await ahead.close();
    }
  });

  it('refuses a far side of another protocol version, at the handshake and at the launch line', async () => {
    const host = sshHost({ breakerThreshold: 5 }, 1, ['node', join(ROOT, 'test/fixtures/fake-workers/wrong-version.mjs')]);
    try {
      const error = await failure(host.call('libm.so.6', COS, [0]));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toContain('Protocol mismatch: this host speaks airlock protocol');
      expect(error.message).toContain('the worker speaks protocol 999');
    } finally {
      await host.close();
    }
    // `airlock-worker --remote` checks the launch line before it starts any worker.
    const far = spawn(process.execPath, [REMOTE_WORKER, '--remote'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    far.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    far.stdin.end(remoteLaunchLine({ protocolVersion: 1, hostVersion: '0.0.1', env: {}, passEnv: [], maxFrameBytes: 1 << 20, singleThreaded: true }));
    const code = await new Promise<number | null>((resolve) => far.once('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain(`airlock-worker: Protocol mismatch: the host speaks airlock protocol 1 (airlock 0.0.1), this worker speaks protocol`);
    expect(stderr).toContain(`(airlock ${AIRLOCK_VERSION}): install the host's version of @airlock/worker on this machine`);
    // And a host that did not send one is told what was expected.
    const bare = spawn(process.execPath, [REMOTE_WORKER, '--remote'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let said = '';
    bare.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
    bare.stdin.end('Content-Length: 2\r\n\r\n{}');
    expect(await new Promise<number | null>((resolve) => bare.once('exit', resolve))).toBe(78);
    expect(said).toContain(`expected the host's launch line ("airlock-launch {…}") first on standard input, got "Content-Length: 2\\r"`);
  });

  it('plugin-run harness spreads a corpus over local and ssh workers, shipping the library, and reports every outcome once', () => {
    const dir = mkdtempSync(join(scratch, 'harness-'));
    const decoder = join(hiddenDir, 'libdecoder-hostonly.so');
    copyFileSync(fixture('decoder'), decoder);
    mkdirSync(join(dir, 'corpus'));
    // 24 inputs the decoder accepts, 6 that make it segfault (byte 0 is 0xEE), 2 with a wrong result ('W').
    const names: string[] = [];
    const put = (name: string, bytes: number[]) => {
      writeFileSync(join(dir, 'corpus', name), Buffer.from(bytes));
      names.push(name);
    };
    for (let i = 0; i < 24; i += 1) put(`ok-${i}.bin`, [0x41, i + 1, 0x42]);
    for (let i = 0; i < 6; i += 1) put(`tag-${i}.bin`, [0xee, i + 1]);
    for (let i = 0; i < 2; i += 1) put(`wrong-${i}.bin`, [0x57, i + 1]);
    const spec = join(dir, 'spec.yaml');
    // The spec's own pool (one local worker) is replaced by the command line's.
    writeFileSync(spec, `library: ${decoder}\nworkers: 1\ncorpus:\n  - name: inputs\n    fn: int decode(const uint8_t *data, size_t len)\n    dir: corpus\n    expect: { result: 0 }\n`);
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const launcher = sshd.ssh.map(quote).join(' ');
    const run = pluginRun(['harness', spec, '--workers', '1', '--workers', `2@${launcher}`, '--remote-command', hidingFarSide().map(quote).join(' '), '--ship', '--timeout', '10s', '--json'], { timeoutMs: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as {
      summary: { total: number; ran: number; passed: number; failed: number; workers: number; actual: Record<string, number> };
      outcomes: Array<{ name: string; outcome: string; actual: { ok: boolean; error?: { code: string; signal?: string } }; worker?: { pid: number; where: string } }>;
    };
    expect(report.summary).toMatchObject({ total: 32, ran: 32, passed: 24, failed: 8, workers: 3, actual: { ok: 26, CRASHED: 6 } });
    // Every input once, each with the worker that ran it.
    expect(report.outcomes.map((outcome) => outcome.name).sort()).toEqual(names.map((name) => `inputs/${name}`).sort());
    const where = new Set(report.outcomes.map((outcome) => outcome.worker?.where));
    expect(where).toEqual(new Set(['local', sshd.ssh.join(' ')]));
    for (const outcome of report.outcomes) {
      if (outcome.name.includes('/tag-')) expect(outcome.actual.error).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
      else if (outcome.name.includes('/wrong-')) expect(outcome).toMatchObject({ outcome: 'fail', actual: { ok: true } });
      else expect(outcome.outcome).toBe('pass');
    }
    // The far side loaded what the host shipped: the decoder is in its cache by hash.
    expect(existsSync(join(shippedDir, sha256Of(decoder)))).toBe(true);
  });

  it('plugin-run call --launcher runs the call on the far side, shipping the library with --ship', () => {
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const base = ['call', '--launcher', sshd.ssh.map(quote).join(' '), '--remote-command', hidingFarSide().map(quote).join(' ')];
    // It starts no local worker ahead (NODE_DEBUG=airlock would say "prestarted").
    const shipped = spawnSync(process.execPath, [CLI, ...base, '--ship', hiddenLibrary, 'int print_and_return(int)', '41'], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'airlock' }, timeout: 60_000 });
    expect(shipped).toMatchObject({ status: 0, stdout: '41\n' });
    expect(shipped.stderr).not.toMatch(/prestarted/);
    // Without --ship the far side, which cannot see the file, says so.
    const unshipped = pluginRun([...base, '--json', hiddenLibrary, 'int print_and_return(int)', '41'], { timeoutMs: 60_000 });
    expect(unshipped.status).toBe(6);
    expect(JSON.parse(unshipped.stdout)).toMatchObject({ ok: false, error: { code: 'LOAD_ERROR' } });
    const bad = pluginRun(['call', '--launcher', "ssh 'box", 'libm.so.6', 'double cos(double)', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`Unclosed ' in the command line "ssh 'box"`);
  });

  it('a host SIGKILLed mid-call leaves no process on either side', async () => {
    const script = join(scratch, 'host.mjs');
    writeFileSync(
      script,
      [
        `import { createHost } from ${JSON.stringify(join(ROOT, 'packages/host/dist/index.js'))};`,
        `const host = createHost({ workers: [{ launcher: ${JSON.stringify(sshd.ssh)} }], startTimeoutMs: 20000 });`,
        `const running = host.call(${JSON.stringify(fixture('hostile'))}, 'int sleep_forever(void)', []);`,
        'while (host.workerPids.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));',
        'await new Promise((resolve) => setTimeout(resolve, 1500));',
        'process.stdout.write(`${host.workerPids[0]}\\n`);',
        'await running;',
      ].join('\n'),
    );
    const before = new Set(remoteWorkers());
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const client = await new Promise<number>((resolve, reject) => {
        let text = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n')) resolve(Number(text.trim()));
        });
        child.once('exit', (code) => reject(new Error(`the host script exited (${code}) before printing its worker`)));
        setTimeout(() => reject(new Error('the host script did not print its worker in time')), 30_000);
      });
      const far = await (async () => {
        await eventually(() => remoteWorkers().some((pid) => !before.has(pid)), 10_000);
        return remoteWorkers().filter((pid) => !before.has(pid));
      })();
      expect(far).toHaveLength(2);
      child.kill('SIGKILL');
      // The host's janitor kills the ssh client; the far side ends with the connection.
      expect(await eventually(() => [client, ...far].every((pid) => !isAlive(pid)), 10_000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('leaves no process on either side after close(), nor a temp dir on the far side', async () => {
    const host = sshHost({}, 2);
    await Promise.all([host.call('libm.so.6', COS, [0]), host.call('libm.so.6', COS, [0])]);
    const clients = host.workerPids;
    const remote = remoteWorkers();
    expect(remote).toHaveLength(4);
    await host.close();
    expect(await eventually(() => [...clients, ...remote].every((pid) => !isAlive(pid)), 10_000)).toBe(true);
    expect(await eventually(() => remoteWorkers().length === 0, 10_000)).toBe(true);
    expect(remoteTempDirs(remote)).toEqual([]);
  });
});
