// Containment, the channel: a worker (or anything pretending to be one) that breaks the protocol
// gets PROTOCOL_ERROR for the call, is killed, and the host goes on. Plugins cannot reach the
// channel at all.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, isAlive } from '../helpers/fixtures.js';
import { FAKE_WORKERS, HOSTILE, cleanUp, expectProtocolError, failure, fakeWorker, scratchDirectory, settleWithin, trackedHost } from './containment-helpers.js';

afterEach(cleanUp);

/** Host options running a stock fake worker. */
function stock(name: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [join(FAKE_WORKERS, name)] };
}

/**
 * A worker that misbehaves like the stock fake `name` the first time it is started and behaves
 * (good.mjs) every time after: the host must recover on its own.
 */
function misbehavingOnce(name: string): { command: string; args: string[] } {
  const dir = scratchDirectory();
  const marker = join(dir, 'started-once');
  return fakeWorker(
    dir,
    'once.mjs',
    `import { existsSync, writeFileSync } from 'node:fs';
     if (existsSync(${JSON.stringify(marker)})) await import(${JSON.stringify(join(FAKE_WORKERS, 'good.mjs'))});
     else { writeFileSync(${JSON.stringify(marker)}, ''); await import(${JSON.stringify(join(FAKE_WORKERS, name))}); }`,
  );
}

const COS: [string, string, unknown[]] = ['libm.so.6', 'double cos(double)', [0]];

describe('stock misbehaving fake workers', () => {
  it.each([
    ['malformed-json.mjs', /Malformed JSON/],
    ['unknown-method.mjs', /sent a request \("airlock\/evil"\)/],
    ['unknown-id.mjs', /response to id 987654321, which the host never sent/],
    ['huge-frame.mjs', /Frame of 999999999999 bytes is over the maximum/],
    ['bad-result.mjs', /airlock\/results notification whose params do not match the protocol/],
  ])('%s: PROTOCOL_ERROR within seconds, the worker is killed, the host goes on', async (name, message) => {
    const host = trackedHost({ worker: stock(name) });
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 2; i += 1) await expectProtocolError(host, message);
    // A frame announcing ~1 TB was refused from its header, not allocated.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it.each(['malformed-json.mjs', 'unknown-method.mjs', 'unknown-id.mjs', 'huge-frame.mjs', 'bad-result.mjs'])(
    '%s once: the next call is served by a fresh worker',
    async (name) => {
      const host = trackedHost({ worker: misbehavingOnce(name), maxFrameBytes: 1 << 20 });
      const error = await failure(host.call(...COS));
      expect(error.code).toBe('PROTOCOL_ERROR');
      expect(await host.call(...COS)).toBe(42);
      expect(await host.call(...COS)).toBe(42);
    },
  );

  it('duplicate-id.mjs: the first answer stands (never 43), the duplicate kills the worker, the host goes on', async () => {
    // standby 0: workerPids[0] is the worker that answered (no spare beside it).
    const host = trackedHost({ worker: stock('duplicate-id.mjs'), standby: 0 });
    const pids = new Set<number>();
    for (let i = 0; i < 3; i += 1) {
      // The duplicate comes in the same read as the answer (PROTOCOL_ERROR for the call) or
      // right after it (the call has its answer; the worker is killed while idle).
      const outcome = await host.call(...COS).then(
        (value) => ({ value, pid: host.workerPids[0]! }),
        (error: { code: string; workerPid: number }) => ({ value: error.code, pid: error.workerPid }),
      );
      expect([42, 'PROTOCOL_ERROR']).toContain(outcome.value);
      await expect.poll(() => isAlive(outcome.pid), { timeout: 5_000 }).toBe(false);
      pids.add(outcome.pid);
    }
    expect(pids.size).toBe(3);
  });

  it('duplicate-id.mjs once: the host recovers with a fresh worker', async () => {
    const host = trackedHost({ worker: misbehavingOnce('duplicate-id.mjs') });
    const first = await host.call(...COS).then(
      (value) => ({ value, pid: host.workerPids[0]! }),
      (error: { code: string; workerPid: number }) => ({ value: error.code, pid: error.workerPid }),
    );
    expect([42, 'PROTOCOL_ERROR']).toContain(first.value);
    await expect.poll(() => isAlive(first.pid), { timeout: 5_000 }).toBe(false);
    expect(await host.call(...COS)).toBe(42);
    expect(host.workerPids).not.toContain(first.pid);
  });

  it.each([
    ['garbage-stdout.mjs', /broke the protocol before its handshake/],
    ['wrong-version.mjs', /Protocol mismatch/],
    ['exit-at-start.mjs', /exited with status 9 before its handshake/],
  ])('%s cannot be started: UNAVAILABLE naming the cause', async (name, message) => {
    const host = trackedHost({ worker: stock(name), breakerThreshold: 10 });
    const error = await failure(host.call(...COS));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(message);
  });

  it('no-handshake.mjs: UNAVAILABLE after the start timeout, not a hang', async () => {
    const host = trackedHost({ worker: stock('no-handshake.mjs'), startTimeoutMs: 800 });
    const run = await settleWithin(host.call(...COS), 10_000);
    expect(run.settled).toBe(true);
    const error = run.error as { code: string; message: string };
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/did not complete its handshake within 800 ms/);
  });
});

describe('more violations, made to order', () => {
  const violations: Array<[string, string, RegExp, Record<string, unknown>?]> = [
    [
      'a frame over a configured maximum',
      `serve({ onCall: (m) => respond(m.id, { value: 'x'.repeat(10000) }) });`,
      /over the maximum of 4096 bytes/,
      { maxFrameBytes: 4096 },
    ],
    ['a notification of an unknown method', `serve({ onCall: () => writeFrame({ jsonrpc: '2.0', method: 'airlock/bogus', params: {} }) });`, /unknown notification method "airlock\/bogus"/],
    [
      'a log notification whose params fail their schema',
      `serve({ onCall: () => writeFrame({ jsonrpc: '2.0', method: 'airlock/log', params: { level: 'loud', message: 42 } }) });`,
      /airlock\/log notification whose params do not match/,
    ],
    ['a message that is not JSON-RPC 2.0', `serve({ onCall: (m) => writeFrame({ jsonrpc: '1.0', id: m.id, result: { value: 1 } }) });`, /not a JSON-RPC 2.0 message/],
    ['a header without Content-Length', `serve({ onCall: () => writeRaw('Content-Type: x\\r\\n\\r\\n{}') });`, /without Content-Length/],
    [
      'an airlock error whose data is malformed',
      `serve({ onCall: (m) => writeFrame({ jsonrpc: '2.0', method: 'airlock/results', params: { first: Number(m.id.slice(5)), values: [null], errors: { 0: { message: 'x', data: { code: 'NOT_A_CODE' } } } } }) });`,
      /airlock\/results notification whose params do not match the protocol/,
    ],
    ['a response that is neither result nor error', `serve({ onCall: (m) => writeFrame({ jsonrpc: '2.0', id: m.id }) });`, /neither a response nor a notification/],
    ['closing its channel while staying alive', `serve({ onCall: () => { closeSync(1); setInterval(() => {}, 1000); } });`, /closed its channel/],
  ];

  it.each(violations)('%s is PROTOCOL_ERROR; the worker is killed', async (_what, body, message, options = {}) => {
    const dir = scratchDirectory();
    const worker = fakeWorker(dir, 'violator.mjs', `import { closeSync } from 'node:fs';\nimport { respond, serve, writeFrame, writeRaw } from FRAME;\n${body}`);
    const host = trackedHost({ worker, ...options });
    await expectProtocolError(host, message);
  });

  it('a well-formed log notification is no violation', async () => {
    const dir = scratchDirectory();
    const worker = fakeWorker(
      dir,
      'logger.mjs',
      `import { respond, serve, writeFrame } from FRAME;
       serve({ onCall: (m) => { writeFrame({ jsonrpc: '2.0', method: 'airlock/log', params: { level: 'info', message: 'hi' } }); respond(m.id, { value: 42 }); } });`,
    );
    const host = trackedHost({ worker });
    expect(await host.call(...COS)).toBe(42);
    expect(await host.call(...COS)).toBe(42);
  });

  it('a worker that exits mid-call is CRASHED with its status (the closed channel does not make it PROTOCOL_ERROR)', async () => {
    const dir = scratchDirectory();
    const worker = fakeWorker(dir, 'exits.mjs', `import { serve } from FRAME;\nserve({ onCall: () => process.exit(4) });`);
    const host = trackedHost({ worker });
    for (let i = 0; i < 3; i += 1) {
      const error = await failure(host.call(...COS));
      expect([error.code, error.exitCode]).toEqual(['CRASHED', 4]);
    }
  });

  it('a worker that closes its channel and exits a little later is still judged by its exit', async () => {
    const dir = scratchDirectory();
    const worker = fakeWorker(
      dir,
      'slow-exit.mjs',
      `import { closeSync } from 'node:fs';\nimport { serve } from FRAME;\nserve({ onCall: () => { closeSync(1); setTimeout(() => process.exit(5), 300); } });`,
    );
    const host = trackedHost({ worker });
    const error = await failure(host.call(...COS));
    expect([error.code, error.exitCode]).toEqual(['CRASHED', 5]);
  });
});

describe('plugins cannot reach the channel', () => {
  it('a constructor printing to stdout while loading does not disturb the protocol', async () => {
    const host = trackedHost();
    expect(await host.call(fixture('ctor_noisy'), 'int noisy_value(void)')).toBe(5);
    expect(await host.call(fixture('ctor_noisy'), 'int noisy_value(void)')).toBe(5);
  });

  it('fake frames and raw bytes on stdout are plugin output, not protocol', async () => {
    const lines: string[] = [];
    const host = trackedHost({ onLog: (entry) => lines.push(entry.line) });
    expect(await host.call(HOSTILE(), 'int print_fake_headers(int)', [3])).toBe(42);
    expect(await host.call(HOSTILE(), 'int sleep_ms(int)', [1])).toBe(1);
    expect(lines.join('\n')).toContain('Content-Length: 99999');
  });
});
