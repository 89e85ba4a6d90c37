// Workers started through a real ssh connection (a loopback sshd of the test's own): the
// worker speaks over plain stdio, so a host whose `worker` command is `ssh … airlock-worker
// --remote` runs its calls on the far side. Checked for real: calls and their values, output
// capture, a far-side segfault classified by its signal, a timeout that ends the far side's
// worker, and no process left on either side after close().
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost } from '@airlock/host';
import { type LoopbackSshd, startLoopbackSshd } from '../helpers/sshd.js';
import { ROOT, eventually, failure, fixture, isAlive, processesMatching } from '../helpers/fixtures.js';

/** The worker's bin as the far side runs it: its path marks the remote workers in `ps`. */
const REMOTE_WORKER = join(ROOT, 'packages/worker/bin/airlock-worker.js');
const COS = 'double cos(double)';

let sshd: LoopbackSshd;

beforeAll(async () => {
  sshd = await startLoopbackSshd();
});

afterAll(async () => {
  await sshd?.stop();
});

/** A host whose workers run through ssh (the remote shell gets the command quoted). */
function sshHost(options: Parameters<typeof createHost>[0] = {}) {
  const [command, ...args] = sshd.ssh;
  return createHost({ ...options, worker: { command: command!, args: [...args, `'${process.execPath}'`, `'${REMOTE_WORKER}'`, '--remote'] }, startTimeoutMs: 20_000 });
}

/** The first word of a process's command line, and its parent (undefined once it is gone). */
function processInfo(pid: number): { command: string; parent: number } | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]!;
    const parent = Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    return { command, parent };
  } catch {
    return undefined;
  }
}

/**
 * Pids of the far side's processes: each `airlock-worker --remote` (not the ssh clients, whose
 * arguments name the same script) and the worker it runs as its child.
 */
function remoteWorkers(): number[] {
  const supervisors = processesMatching(REMOTE_WORKER).filter((pid) => processInfo(pid)?.command === process.execPath);
  const workers = processesMatching('lifecycle/entry.js').filter((pid) => supervisors.includes(processInfo(pid)?.parent ?? -1));
  return [...supervisors, ...workers];
}

describe('workers through ssh', () => {
  it('runs calls on workers on the far side, with their values and output', async () => {
    const host = sshHost({ workers: 2, callOutput: true });
    try {
      const values = await Promise.all([0, 1, 2, 3].map((x) => host.call<number>('libm.so.6', COS, [x])));
      expect(values).toEqual([0, 1, 2, 3].map(Math.cos));
      expect(await host.call(fixture('hostile'), 'int print_and_return(int)', [7])).toBe(7);
      const event = new Promise<{ output?: string[] }>((resolve) => host.once('call', resolve));
      await host.call(fixture('hostile'), 'int print_and_return(int)', [8]);
      expect((await event).output?.join('\n')).toContain('8');
      // The host's workers are ssh clients; the workers themselves are children of sshd.
      expect(host.workerPids.length).toBeGreaterThanOrEqual(1);
      expect(remoteWorkers().length).toBeGreaterThanOrEqual(1);
      for (const pid of remoteWorkers()) expect(host.workerPids).not.toContain(pid);
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

  it('settles a call whose ssh client is killed mid-call at once, ends the far side, and the next call succeeds', async () => {
    const host = sshHost();
    try {
      expect(await host.call(fixture('hostile'), 'int print_and_return(int)', [1])).toBe(1);
      const [client] = host.workerPids;
      const remote = remoteWorkers();
      expect(remote).toHaveLength(2);
      const call = failure(host.call(fixture('hostile'), 'int sleep_forever(void)', []));
      await new Promise((r) => setTimeout(r, 300));
      process.kill(client!, 'SIGKILL');
      const error = await call;
      // The host sees its worker process (the ssh client) killed by a signal nobody in airlock sent.
      expect(error.code).toBe('CRASHED');
      expect(error.signal).toBe('SIGKILL');
      expect(error.workerPid).toBe(client);
      expect(await eventually(() => remote.every((pid) => !isAlive(pid)), 10_000)).toBe(true);
      expect(await host.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await host.close();
    }
  });

  it('a far side that refuses the connection is UNAVAILABLE quoting ssh, and trips the start breaker', async () => {
    // A port nothing listens on: sshd's own, once a throw-away daemon is stopped.
    const refusing = await startLoopbackSshd();
    await refusing.stop();
    const [command, ...args] = refusing.ssh;
    const host = createHost({ worker: { command: command!, args: [...args, 'airlock-worker', '--remote'] }, breakerThreshold: 2, breakerCooldownMs: 60_000 });
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
    // The host that reaches a live daemon still works.
    const live = sshHost();
    try {
      expect(await live.call('libm.so.6', COS, [0])).toBe(1);
    } finally {
      await live.close();
    }
  });

  it('leaves no process on either side after close()', async () => {
    const host = sshHost({ workers: 2 });
    await Promise.all([host.call('libm.so.6', COS, [0]), host.call('libm.so.6', COS, [0])]);
    const clients = host.workerPids;
    const remote = remoteWorkers();
    expect(remote).toHaveLength(4);
    await host.close();
    expect(await eventually(() => [...clients, ...remote].every((pid) => !isAlive(pid)), 10_000)).toBe(true);
    expect(await eventually(() => remoteWorkers().length === 0, 10_000)).toBe(true);
  });
});
