// host.callMany and the hot path: calls travel to a worker in runs and their outcomes come back
// in chunks, yet each call keeps its own outcome, clock and limits; a crash in one loses no
// result of the calls before it (they survive in the worker's result log), the calls after it
// run on a fresh worker, and none runs twice.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError } from '@airlock/host';
import { fixture } from '../helpers/fixtures.js';
import { cleanUp, trackedHost } from './containment-helpers.js';

const BATCH = () => fixture('batch');
const STEP = 'int batch_step(const char *path, int x)';
const NEXT = 'int batch_next(int x)';
const dirs: string[] = [];

afterEach(async () => {
  await cleanUp();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A file the fixture appends each input it runs to. */
function markFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-test-marks-'));
  dirs.push(dir);
  return join(dir, 'marks');
}

/** The inputs that ran, in the order they ran. */
function marks(path: string): number[] {
  return readFileSync(path, 'utf8').trim().split('\n').map(Number);
}

describe('host.callMany', () => {
  it('resolves every element in the order of argsList, shaped like Promise.allSettled', async () => {
    const host = trackedHost();
    const inputs = Array.from({ length: 20_000 }, (_, i) => [i]);
    const results = await host.callMany(BATCH(), NEXT, inputs, { chunkSize: 1000 });
    expect(results).toHaveLength(20_000);
    results.forEach((result, i) => expect(result).toEqual({ status: 'fulfilled', value: i + 1 }));
    expect(await host.call(BATCH(), NEXT, [41])).toBe(42);
  });

  it('a crash in element k settles element k only: the elements before keep their results, those after run on a fresh worker, none runs twice', async () => {
    const host = trackedHost();
    const path = markFile();
    const inputs = Array.from({ length: 300 }, (_, i) => [path, i === 137 ? -1 : i]);
    const results = await host.callMany(BATCH(), STEP, inputs);
    results.forEach((result, i) => {
      if (i === 137) {
        expect(result.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason as AirlockError;
        expect(reason).toBeInstanceOf(AirlockError);
        expect(reason).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
      } else expect(result).toEqual({ status: 'fulfilled', value: 2 * i });
    });
    const ran = marks(path);
    expect(ran).toHaveLength(300);
    expect(new Set(ran).size).toBe(300);
    expect(await host.call(BATCH(), NEXT, [1])).toBe(2);
  });

  it('a crash in an element of a later message (past the first 2048 calls) is its own: the rest succeed once', async () => {
    const host = trackedHost();
    const path = markFile();
    const inputs = Array.from({ length: 5000 }, (_, i) => [path, i === 4500 ? -1 : i]);
    const results = await host.callMany(BATCH(), STEP, inputs);
    results.forEach((result, i) => {
      if (i === 4500) expect(result).toMatchObject({ status: 'rejected', reason: { code: 'CRASHED', signal: 'SIGSEGV' } });
      else expect(result).toEqual({ status: 'fulfilled', value: 2 * i });
    });
    const ran = marks(path);
    expect(ran).toHaveLength(5000);
    expect(new Set(ran).size).toBe(5000);
    expect(await host.call(BATCH(), NEXT, [1])).toBe(2);
  });

  it('crashes in several elements each settle their own element; every other element succeeds once', async () => {
    const host = trackedHost();
    const path = markFile();
    const crashing = new Set([3, 50, 51, 199]);
    const inputs = Array.from({ length: 200 }, (_, i) => [path, crashing.has(i) ? (i === 51 ? -3 : -1) : i]);
    const results = await host.callMany(BATCH(), STEP, inputs, { chunkSize: 64 });
    results.forEach((result, i) => {
      if (!crashing.has(i)) return expect(result).toEqual({ status: 'fulfilled', value: 2 * i });
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'CRASHED', signal: i === 51 ? 'SIGABRT' : 'SIGSEGV' });
    });
    const ran = marks(path);
    expect(ran.sort((a, b) => a - b)).toEqual(inputs.map(([, x]) => x as number).sort((a, b) => a - b));
  });

  it('a timeout counts per element: the hanging element is TIMEOUT, the rest succeed', async () => {
    const host = trackedHost();
    const path = markFile();
    const inputs = Array.from({ length: 50 }, (_, i) => [path, i === 20 ? -2 : i]);
    const results = await host.callMany(BATCH(), STEP, inputs, { timeoutMs: 300 });
    results.forEach((result, i) => {
      if (i === 20) expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'TIMEOUT' });
      else expect(result).toEqual({ status: 'fulfilled', value: 2 * i });
    });
    expect(new Set(marks(path)).size).toBe(50);
  });

  it("isolation 'call' checks every element: the element after a crash still succeeds", async () => {
    const host = trackedHost();
    const path = markFile();
    const inputs = Array.from({ length: 10 }, (_, i) => [path, i === 4 ? -1 : i]);
    const results = await host.callMany(BATCH(), STEP, inputs, { isolation: 'call' });
    expect(results.map((r) => r.status)).toEqual(inputs.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
    expect(marks(path)).toHaveLength(10);
  });

  it('an invalid argument list rejects the batch before anything runs, naming its index and the bad value', async () => {
    const host = trackedHost();
    const error = await host.callMany(BATCH(), NEXT, [[1], [2], ['three']]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AirlockError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { index: 2 } });
    expect((error as Error).message).toMatch(/argsList\[2\].*"three" \(string\)/);
    expect(host.workerPids).toEqual([]);
    const bad = await host.callMany(BATCH(), NEXT, [[1]], { isolation: 'each' as never }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((bad as Error).message).toMatch(/isolation/);
  });

  it('an empty argsList resolves to an empty array without a worker', async () => {
    const host = trackedHost();
    expect(await host.callMany(BATCH(), NEXT, [])).toEqual([]);
    expect(host.workerPids).toEqual([]);
  });

  it('cancelling the batch settles what had not run as CANCELLED and the host goes on', async () => {
    const host = trackedHost();
    const path = markFile();
    const controller = new AbortController();
    const inputs = Array.from({ length: 40 }, (_, i) => [path, i === 5 ? -2 : i]);
    const pending = host.callMany(BATCH(), STEP, inputs, { signal: controller.signal });
    // Cancelled once element 5 hangs (whenever its worker got there: a loaded machine starts slowly).
    await expect.poll(() => (existsSync(path) ? marks(path) : []), { timeout: 20_000, interval: 20 }).toContain(-2);
    controller.abort(new Error('enough'));
    const results = await pending;
    expect(results.slice(0, 5)).toEqual(Array.from({ length: 5 }, (_, i) => ({ status: 'fulfilled', value: 2 * i })));
    for (const result of results.slice(5)) expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'CANCELLED' });
    expect(marks(path)).toEqual([0, 1, 2, 3, 4, -2]);
    expect(await host.call(BATCH(), NEXT, [7])).toBe(8);
  });
});

describe('calls issued together travel together', () => {
  it('64 callers in flight each get their own result; a crash among them is its own', async () => {
    const host = trackedHost();
    const path = markFile();
    const calls = Array.from({ length: 64 }, (_, i) => host.call(BATCH(), STEP, [path, i === 30 ? -1 : i]));
    const settled = await Promise.allSettled(calls);
    settled.forEach((s, i) => {
      if (i === 30) expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
      else expect(s).toEqual({ status: 'fulfilled', value: 2 * i });
    });
    expect(new Set(marks(path)).size).toBe(64);
    expect(marks(path)).toHaveLength(64);
  });
});

describe('a call cancelled while it waits behind another on the same worker', () => {
  it('settles CANCELLED at once; the worker still answers it, which blames nobody, and the next call succeeds on the same worker', async () => {
    const host = trackedHost({ pipeline: 8 });
    const first = await host.call(fixture('hostile'), 'int getpid(void)');
    const running = host.call(fixture('hostile'), 'int sleep_ms(int)', [300]);
    const controller = new AbortController();
    // The same library: a worker serves one library, so only a call of the sleeping one waits behind it.
    const waiting = host.call(fixture('hostile'), 'int sleep_ms(int)', [1], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('not needed')), 50);
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await running).toBe(300);
    expect(await host.call(fixture('hostile'), 'int getpid(void)')).toBe(first);
  });
});

describe('recovery without waiting', () => {
  it('standby: the call after a crash runs on a worker that was already started, and another is started behind it', async () => {
    const host = trackedHost({ standby: 1 });
    const first = await host.call(fixture('hostile'), 'int getpid(void)');
    await expect.poll(() => host.workerPids.length, { timeout: 10_000 }).toBe(2);
    const before = host.workerPids;
    const crash = await host.call(fixture('hostile'), 'int crash_segv(void)').catch((error: unknown) => error);
    expect(crash).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    const next = await host.call(fixture('hostile'), 'int getpid(void)');
    expect(next).not.toBe(first);
    expect(before).toContain(next);
    await expect.poll(() => host.workerPids.length, { timeout: 10_000 }).toBe(2);
  });

  it("standby 'auto': no spare while no worker has ended, two once one crashed, and the call after the next crash runs on a spare", async () => {
    const host = trackedHost({ standby: 'auto' });
    const first = await host.call(fixture('hostile'), 'int getpid(void)');
    await host.call(fixture('hostile'), 'int abs(int)', [-1]);
    // Nothing has ended: nothing is kept beside the slot's worker (it would have started by now).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(host.workerPids).toEqual([first]);
    const crash = await host.call(fixture('hostile'), 'int crash_segv(void)').catch((error: unknown) => error);
    expect(crash).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    await expect(host.call(fixture('hostile'), 'int abs(int)', [-2])).resolves.toBe(2);
    // One serving, two kept.
    await expect.poll(() => host.workerPids.length, { timeout: 15_000 }).toBe(3);
    const before = host.workerPids;
    await host.call(fixture('hostile'), 'int crash_segv(void)').catch(() => undefined);
    const next = await host.call(fixture('hostile'), 'int getpid(void)');
    expect(before).toContain(next);
  });

  it("standby 'auto' is the default, and its spares end once workers stop ending (here after idleTimeoutMs)", async () => {
    const host = trackedHost({ idleTimeoutMs: 1_500 });
    const crash = await host.call(fixture('hostile'), 'int crash_segv(void)').catch((error: unknown) => error);
    expect(crash).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    const serving = await host.call(fixture('hostile'), 'int getpid(void)');
    // One serving, two spares.
    await expect.poll(() => host.workerPids.length, { timeout: 15_000 }).toBe(3);
    const spares = host.workerPids.filter((pid) => pid !== serving);
    expect(spares).toHaveLength(2);
    // No worker ends for idleTimeoutMs: the spares go (the slot's own worker may go too, being idle as long)…
    await expect.poll(() => spares.filter((pid) => host.workerPids.includes(pid) || existsSync(`/proc/${pid}`)), { timeout: 15_000 }).toEqual([]);
    await expect(host.call(fixture('hostile'), 'int abs(int)', [-4])).resolves.toBe(4);
    // …and the next crash brings them back.
    await host.call(fixture('hostile'), 'int crash_segv(void)').catch(() => undefined);
    await expect(host.call(fixture('hostile'), 'int abs(int)', [-3])).resolves.toBe(3);
    await expect.poll(() => host.workerPids.length, { timeout: 15_000 }).toBe(3);
  });

  it('standby 0: no spare, even after a crash', async () => {
    const host = trackedHost({ standby: 0 });
    await host.call(fixture('hostile'), 'int crash_segv(void)').catch(() => undefined);
    const next = await host.call(fixture('hostile'), 'int getpid(void)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(host.workerPids).toEqual([next]);
  });

  it("standby must be 'auto' or a small non-negative integer, and the error says so", () => {
    expect(() => trackedHost({ standby: -1 })).toThrow(/standby/);
    expect(() => trackedHost({ standby: 'sometimes' as never })).toThrow(/standby/);
  });
});

describe('big buffers on the channel', () => {
  const FILL = 'int fill_bytes(uint8_t *out, size_t len)';
  const SUM = 'uint32_t sum_bytes(const uint8_t *data, size_t len)';
  const expectFilled = (out: Uint8Array, length: number) => {
    expect(out).toBeInstanceOf(Uint8Array);
    expect(out.byteLength).toBe(length);
    const expected = Uint8Array.from({ length }, (_, i) => i & 0xff);
    expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(expected))).toBe(true);
  };

  it('cross as raw bytes both ways, byte for byte (12 MiB in, 12 MiB out, a typed array out)', async () => {
    const host = trackedHost();
    const length = 12 * 1024 * 1024;
    const data = Uint8Array.from({ length }, (_, i) => (i * 13) & 0xff);
    let sum = 0;
    for (const byte of data) sum = (sum + byte) >>> 0;
    expect(await host.call(fixture('types'), SUM, [data])).toBe(sum);
    const filled = (await host.call(fixture('types'), FILL, [length])) as { result: number; out: Uint8Array[] };
    expect(filled.result).toBe(length);
    expectFilled(filled.out[0] as Uint8Array, length);
    const iota = (await host.call(fixture('types'), 'int iota_i32(int32_t *out, size_t n)', [1 << 20])) as { result: number; out: Int32Array[] };
    expect(iota.out[0]).toBeInstanceOf(Int32Array);
    expect(iota.out[0]?.length).toBe(1 << 20);
    expect([iota.out[0]?.[0], iota.out[0]?.[12345], iota.out[0]?.[(1 << 20) - 1]]).toEqual([0, 12345, (1 << 20) - 1]);
  });

  it('a result too large for the channel is LIMIT_EXCEEDED (output) naming its size and maxFrameBytes, not a broken protocol; the same worker serves the next call', async () => {
    const host = trackedHost({ maxFrameBytes: 1024 * 1024 });
    expect(await host.call(fixture('types'), SUM, [new Uint8Array([1, 2])])).toBe(3);
    const pids = host.workerPids;
    const error = await host.call(fixture('types'), FILL, [2 * 1024 * 1024]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AirlockError);
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'output', details: { maxFrameBytes: 1024 * 1024 } });
    expect((error as AirlockError).details?.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect((error as Error).message).toMatch(/result takes \d+ bytes on the channel, over its 1048576-byte frame limit: raise the host's maxFrameBytes/);
    expectFilled(((await host.call(fixture('types'), FILL, [4096])) as { out: Uint8Array[] }).out[0] as Uint8Array, 4096);
    expect(host.workerPids).toEqual(pids);
  });

  it('results that fit the channel one by one but not together go out in several frames', async () => {
    // 64 KiB frames: three 20,000-byte results fit in one, a fourth does not.
    const host = trackedHost({ maxFrameBytes: 64 * 1024 });
    const results = await host.callMany(fixture('types'), FILL, Array.from({ length: 8 }, () => [20_000]));
    for (const result of results) {
      expect(result.status).toBe('fulfilled');
      expectFilled((result as PromiseFulfilledResult<{ out: Uint8Array[] }>).value.out[0] as Uint8Array, 20_000);
    }
    expect(host.workerPids).toHaveLength(1);
  });

  it('a big result sent just before the next call crashes its worker is delivered whole', async () => {
    const host = trackedHost();
    const length = 3 * 1024 * 1024;
    // Issued together: both travel in one message to one worker, the second kills it.
    const [filled, crashed] = await Promise.allSettled([host.call(fixture('types'), FILL, [length]), host.call(fixture('hostile'), 'int crash_segv(void)', [])]);
    expect(filled.status).toBe('fulfilled');
    expectFilled((filled as PromiseFulfilledResult<{ out: Uint8Array[] }>).value.out[0] as Uint8Array, length);
    expect(crashed).toMatchObject({ status: 'rejected', reason: { code: 'CRASHED', signal: 'SIGSEGV' } });
    expect(await host.call(fixture('types'), SUM, [new Uint8Array([4, 5])])).toBe(9);
  });

  it('are INVALID_ARGUMENT naming their size and maxFrameBytes, before anything is sent; a larger maxFrameBytes lets them through', async () => {
    const host = trackedHost({ maxFrameBytes: 1024 * 1024 });
    const big = new Uint8Array(2 * 1024 * 1024).fill(1);
    const error = await host.call(fixture('types'), 'uint32_t sum_bytes(const uint8_t *data, size_t len)', [big]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AirlockError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { maxFrameBytes: 1024 * 1024 } });
    expect((error as AirlockError).details?.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect((error as Error).message).toMatch(/maxFrameBytes/);
    expect(await host.call(fixture('types'), 'uint32_t sum_bytes(const uint8_t *data, size_t len)', [new Uint8Array([1, 2, 3])])).toBe(6);
    const roomy = trackedHost({ maxFrameBytes: 8 * 1024 * 1024 });
    expect(await roomy.call(fixture('types'), 'uint32_t sum_bytes(const uint8_t *data, size_t len)', [big])).toBe(2 * 1024 * 1024);
  });
});
