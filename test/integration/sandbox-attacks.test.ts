// A hostile plugin against its host: sandboxed, every attack fails with the errno the sandbox
// gives it, and the host, a sibling worker and a stand-in process are checked from outside
// (not signalled, not stopped, not read); unsandboxed, the same attacks on the stand-in work,
// so it is the sandbox that stops them. After each, an innocent call on the same host works.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Host, HostOptions } from '@airlock/host';
import { eventually, fixture, isAlive, processesMatching } from '../helpers/fixtures.js';
import { closeHosts, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const ESRCH = -3;
const ENOENT = -2;
const EPERM = -1;
const ENXIO = -6;
const EROFS = -30;
const ECONNREFUSED = -111;
const SIGSTOP = 19;
const SIGUSR1 = 10;

const ATTACKS = () => fixture('sandbox_attacks');
const marker = `AIRLOCK_SANDBOX_SECRET_${randomBytes(6).toString('hex')}`;
let decoy: ChildProcess;
let server: net.Server;
let port: number;
let connections = 0;
let usr1 = 0;
const onUsr1 = () => (usr1 += 1);
let dir: string;
let secret: string;
let outDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-sandbox-attacks-'));
  secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'the secret\n');
  outDir = join(dir, 'out');
  mkdirSync(outDir);
  // The stand-in for a host: a process of the same user, a secret in its environment.
  decoy = spawn('sleep', ['300'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET: marker }, stdio: 'ignore' });
  server = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  port = (server.address() as net.AddressInfo).port;
  process.on('SIGUSR1', onUsr1);
});

afterAll(async () => {
  process.off('SIGUSR1', onUsr1);
  decoy.kill('SIGKILL');
  await new Promise<void>((closed) => server.close(() => closed()));
  rmSync(dir, { recursive: true, force: true });
});

/** Calls one attack. */
function attack(host: Host, prototype: string, args: unknown[] = []): Promise<number> {
  return host.call(ATTACKS(), prototype, args) as Promise<number>;
}

/** The same host still answers, correctly. */
async function serves(host: Host): Promise<void> {
  expect(await host.call(fixture('types'), 'int add(int a, int b)', [2, 3])).toBe(5);
}

/** This process's state letter in /proc (`T` when stopped). */
function ownState(): string {
  return /^State:\s+(\w)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? '?';
}

/** Whether this user may raise a hard limit (of `pid`, a process of its own): tried with util-linux prlimit, and put back. */
function canRaiseHardLimit(pid: number): boolean {
  const line = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
  if (line === null) return false;
  const [soft, hard] = [line[1], Number(line[2])];
  const raised = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard + 1}`]).status === 0;
  if (raised) spawnSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard}`]);
  return raised;
}

/** A sandboxed host with two workers running, and their pids. */
async function twoSandboxedWorkers(options: HostOptions = {}): Promise<{ host: Host; first: number; sibling: number }> {
  const host = trackedHost({ sandbox: true, workers: 2, pipeline: 1, ...options });
  const pids = await Promise.all([0, 1].map(() => attack(host, 'int count_proc_pids(void)').then(() => undefined)));
  expect(pids).toHaveLength(2);
  expect(host.workerPids).toHaveLength(2);
  const [first, sibling] = host.workerPids as [number, number];
  return { host, first, sibling };
}

describe('sandboxed, a hostile plugin', () => {
  it('cannot signal, stop, ptrace or open a pidfd to the host, a sibling worker or any process outside', async () => {
    const { host, sibling } = await twoSandboxedWorkers();
    for (const target of [process.pid, sibling, decoy.pid!]) {
      expect(await attack(host, 'int try_kill(int pid, int sig)', [target, 0]), `kill(${target}, 0)`).toBe(ESRCH);
      expect(await attack(host, 'int try_kill(int pid, int sig)', [target, SIGSTOP]), `kill(${target}, SIGSTOP)`).toBe(ESRCH);
      expect(await attack(host, 'int try_kill(int pid, int sig)', [target, SIGUSR1]), `kill(${target}, SIGUSR1)`).toBe(ESRCH);
      expect(await attack(host, 'int try_ptrace(int pid)', [target]), `ptrace(${target})`).toBe(ESRCH);
      expect(await attack(host, 'int try_pidfd_getfd(int pid, int fd)', [target, 1]), `pidfd_getfd(${target})`).toBe(ESRCH);
    }
    // kill(-1): every process it may signal. There is none but its own namespace's.
    expect(await attack(host, 'int try_kill(int pid, int sig)', [-1, 9])).toBe(ESRCH);
    // Seen from outside: nothing reached the host, the stand-in or the sibling.
    expect(usr1).toBe(0);
    expect(ownState()).not.toBe('T');
    expect(isAlive(decoy.pid!)).toBe(true);
    expect(isAlive(sibling)).toBe(true);
    expect(host.workerPids).toContain(sibling);
    await serves(host);
  });

  it("cannot read or write the host's memory or environment, nor see it in /proc", async () => {
    const host = trackedHost({ sandbox: true });
    for (const target of [process.pid, decoy.pid!]) {
      expect(await attack(host, 'int try_write_mem(int pid)', [target])).toBe(ENOENT);
      expect(await attack(host, 'int try_read_environ(int pid, const char *marker)', [target, marker])).toBe(ENOENT);
    }
    // bubblewrap's init and the worker.
    expect(await attack(host, 'int count_proc_pids(void)')).toBe(2);
    expect(await host.call('libc.so.6', 'int getuid(void)')).toBe(65534);
    await serves(host);
  });

  it('cannot read a file outside what it is shown, nor write outside its temp dir', async () => {
    const host = trackedHost({ sandbox: true });
    expect(await attack(host, 'int try_read_file(const char *path)', [secret])).toBe(ENOENT);
    expect(await attack(host, 'int try_read_file(const char *path)', ['/etc/shadow'])).toBe(ENOENT);
    expect(await attack(host, 'int try_read_file(const char *path)', [`/proc/${process.pid}/status`])).toBe(ENOENT);
    expect(await attack(host, 'int try_write_file(const char *path, const char *text)', [join(outDir, 'planted.txt'), 'planted'])).toBe(ENOENT);
    // What it is shown it cannot change: the system, and the library itself.
    expect(await attack(host, 'int try_write_file(const char *path, const char *text)', ['/usr/lib/planted.so', 'planted'])).toBe(EROFS);
    expect(await attack(host, 'int try_write_file(const char *path, const char *text)', [ATTACKS(), 'planted'])).toBe(EROFS);
    expect(existsSync(join(outDir, 'planted.txt'))).toBe(false);
    expect(existsSync('/usr/lib/planted.so')).toBe(false);
    expect(readFileSync(secret, 'utf8')).toBe('the secret\n');
    await serves(host);
  });

  it('reads what `readable` shows and writes where `writable` lets it, nothing more', async () => {
    const host = trackedHost({ sandbox: { readable: [secret], writable: [outDir] } });
    expect(await attack(host, 'int try_read_file(const char *path)', [secret])).toBe('the secret\n'.length);
    expect(await attack(host, 'int try_write_file(const char *path, const char *text)', [secret, 'changed'])).toBe(EROFS);
    expect(await attack(host, 'int try_write_file(const char *path, const char *text)', [join(outDir, 'result.txt'), 'result'])).toBe(6);
    expect(readFileSync(join(outDir, 'result.txt'), 'utf8')).toBe('result');
    expect(readFileSync(secret, 'utf8')).toBe('the secret\n');
    await serves(host);
  });

  it('cannot reach a listener on 127.0.0.1 unless given the network', async () => {
    const before = connections;
    const closed = trackedHost({ sandbox: true });
    expect(await attack(closed, 'int try_connect(int port)', [port])).toBe(ECONNREFUSED);
    await new Promise((settle) => setTimeout(settle, 50));
    expect(connections).toBe(before);
    await serves(closed);
    const open = trackedHost({ sandbox: { network: true } });
    expect(await attack(open, 'int try_connect(int port)', [port])).toBe(0);
    expect(await eventually(() => connections === before + 1, 2000)).toBe(true);
    await serves(open);
  });

  it("cannot raise its limits, nor push input into a terminal", async () => {
    const host = trackedHost({ sandbox: true });
    expect(await attack(host, 'int try_raise_nofile(void)')).toBe(EPERM);
    expect(await attack(host, 'int try_tiocsti(void)')).toBe(ENXIO);
    await serves(host);
  });

  it('leaves no process behind: a detached daemon dies with the worker', async () => {
    const tag = `airlock-sandbox-daemon-${randomBytes(4).toString('hex')}`;
    const host = trackedHost({ sandbox: true });
    expect(await attack(host, 'int leave_daemon(const char *tag)', [tag])).toBe(0);
    // The worker retires (it has a child); its PID namespace ends with it, the daemon too.
    await serves(host);
    expect(await eventually(() => processesMatching(tag).length === 0, 5000)).toBe(true);
  });
});

describe('unsandboxed, the same attacks on a stand-in process work', () => {
  it('signal, ptrace, memory, environment, pidfd, files, loopback, limits', async () => {
    const host = trackedHost({ maxCallsPerWorker: 1 });
    const target = decoy.pid!;
    expect(await attack(host, 'int try_kill(int pid, int sig)', [target, 0])).toBe(0);
    expect(await attack(host, 'int try_ptrace(int pid)', [target])).toBe(0);
    expect(await attack(host, 'int try_write_mem(int pid)', [target])).toBe(0);
    expect(await attack(host, 'int try_read_environ(int pid, const char *marker)', [target, marker])).toBe(1);
    expect(await attack(host, 'int try_pidfd_getfd(int pid, int fd)', [target, 1])).toBeGreaterThan(2);
    expect(await attack(host, 'int try_read_file(const char *path)', [secret])).toBe('the secret\n'.length);
    const before = connections;
    expect(await attack(host, 'int try_connect(int port)', [port])).toBe(0);
    expect(await eventually(() => connections === before + 1, 2000)).toBe(true);
    expect(await attack(host, 'int count_proc_pids(void)')).toBeGreaterThan(10);
    // Raising a hard limit needs CAP_SYS_RESOURCE, which root lacks in some containers (this
    // test's own VM among them): unsandboxed, the plugin gets what this user gets.
    expect(await attack(host, 'int try_raise_nofile(void)')).toBe(canRaiseHardLimit(target) ? 0 : EPERM);
    // The stand-in lived through it all.
    expect(isAlive(target)).toBe(true);
    await serves(host);
  });
});
