// A call's output reaches the host before its outcome. Output and outcomes travel on different
// pipes, which a host reads in whatever order its event loop sees them; the worker therefore
// sends an outcome only once the host has read what the call wrote. Here a host of the test's
// own (the real worker, spoken to frame by frame) holds back reading the plugin's stdout (a FIFO
// it reads by hand, so that nothing drains it meanwhile): the outcome must wait for it, and comes
// once the output has been read.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { AIRLOCK_VERSION, FrameReader, FrameWriter, Methods, PROTOCOL_VERSION } from '@airlock/protocol';
import { type CallEvent, createHost } from '@airlock/host';
import { WORKER_ENTRY } from '@airlock/worker';
import { eventually, failure, fixture } from '../helpers/fixtures.js';

const WORKER_START = join(dirname(WORKER_ENTRY), 'lifecycle', 'entry.js');
let worker: ChildProcess | undefined;
let dir: string | undefined;
let fifoFd: number | undefined;

afterEach(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }
  if (fifoFd !== undefined) closeSync(fifoFd);
  if (dir) rmSync(dir, { recursive: true, force: true });
  fifoFd = undefined;
  worker = undefined;
  dir = undefined;
});

describe('plugin output and outcomes', () => {
  it('an outcome goes out only once the host has read the output of its call', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-output-order-test-'));
    const fifo = join(dir, 'plugin-stdout');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Read and write: opening does not wait for a writer, and the FIFO stays open for the worker.
    fifoFd = openSync(fifo, 'r+');
    worker = spawn(process.execPath, ['--no-warnings', WORKER_START], {
      env: { TMPDIR: dir, AIRLOCK_STDOUT_FD: '3' },
      // stderr to /dev/null: only the held-back stdout is unread.
      stdio: ['pipe', 'pipe', 'ignore', fifoFd],
    });
    const messages: Message[] = [];
    new FrameReader(worker.stdout as Readable).listen((message) => messages.push(message));
    const writer = new FrameWriter(worker.stdin as Writable);

    await writer.write({ jsonrpc: '2.0', id: 1, method: Methods.hello.method, params: { protocolVersion: PROTOCOL_VERSION, hostVersion: AIRLOCK_VERSION } } as Message);
    await eventually(() => messages.length === 1, 30_000, 10);
    expect(messages[0]).toMatchObject({ id: 1, result: { protocolVersion: PROTOCOL_VERSION } });

    const call = { library: fixture('hostile'), fn: 'int print_and_return(int)', abi: 'c', limits: {} };
    await writer.write({ jsonrpc: '2.0', method: Methods.calls.method, params: { runs: [{ first: 0, call, args: [[7]], isolation: 'call' }] } } as Message);
    // The call runs in a few milliseconds; its outcome must not come while its output is unread.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages, 'the outcome came before the host read the call output').toHaveLength(1);

    const buffer = Buffer.alloc(4096);
    const stdout = buffer.toString('utf8', 0, readSync(fifoFd, buffer, 0, buffer.length, null));
    expect(stdout).toContain('hello from plugin 7');
    expect(messages, 'the outcome came before the output was read').toHaveLength(1);
    await eventually(() => messages.length === 2, 10_000, 5);
    expect(messages[1]).toMatchObject({ method: Methods.results.method, params: { first: 0, values: [7] } });
  });
});

describe('plugin output and outcomes, through a host', () => {
  it("every call's output is its own, on the host's pipes (socket pairs): 300 calls sent ahead, each event carries exactly its call's lines", async () => {
    const host = createHost({ callOutput: true, pipeline: 16, standby: 0 });
    try {
      const events: CallEvent[] = [];
      host.on('call', (event) => events.push(event));
      const values = Array.from({ length: 300 }, (_, i) => i);
      expect(await Promise.all(values.map((v) => host.call(fixture('hostile'), 'int print_and_return(int)', [v])))).toEqual(values);
      expect(events).toHaveLength(300);
      const outputs = new Map(events.map((event) => [event.output?.slice().sort().join('|'), event]));
      for (const v of values) expect(outputs.has([`hello from plugin ${v}`, `stderr line ${v}`].sort().join('|')), `call ${v}'s output`).toBe(true);
      // A failing call's error shows its own lines, not the call's before it.
      await host.call(fixture('hostile'), 'int print_and_return(int)', [1000]);
      const crash = await failure(host.call(fixture('hostile'), 'int crash_segv(void)'));
      expect(crash.code).toBe('CRASHED');
      expect(crash.output?.filter((line) => line.includes('1000'))).toEqual([]);
    } finally {
      await host.close();
    }
  });
});
