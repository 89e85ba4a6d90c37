import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError, OpaquePointer, createHost, type Host } from '@airlock/host';
import { eventually, fixture, isAlive, failure } from '../helpers/fixtures.js';

let host: Host;
let lib: string;

beforeAll(() => {
  lib = fixture('types');
  host = createHost({ workers: 2 });
});
afterAll(async () => {
  await host.close();
});


describe('C calls by prototype', () => {
  it('calls libm by name: cos(0) is 1', async () => {
    expect(await host.call('libm.so.6', 'double cos(double)', [0])).toBe(1);
  });

  it('passes every integer width, signed and unsigned, with wrap-around done by C', async () => {
    expect(await host.call(lib, 'int8_t add_i8(int8_t, int8_t)', [100, 27])).toBe(127);
    expect(await host.call(lib, 'int8_t add_i8(int8_t, int8_t)', [127, 1])).toBe(-128);
    expect(await host.call(lib, 'uint8_t add_u8(uint8_t, uint8_t)', [255, 1])).toBe(0);
    expect(await host.call(lib, 'int16_t add_i16(int16_t, int16_t)', [-32768, -1])).toBe(32767);
    expect(await host.call(lib, 'uint16_t add_u16(uint16_t, uint16_t)', [65535, 2])).toBe(1);
    expect(await host.call(lib, 'int32_t add_i32(int32_t, int32_t)', [2147483647, 1])).toBe(-2147483648);
    expect(await host.call(lib, 'uint32_t add_u32(uint32_t, uint32_t)', [4294967295, 5])).toBe(4);
    expect(await host.call(lib, 'int add(int a, int b)', [40, 2])).toBe(42);
  });

  it('keeps 64-bit integers exact beyond 2^53', async () => {
    expect(await host.call(lib, 'int64_t add_i64(int64_t, int64_t)', [9007199254740993n, 1n])).toBe(9007199254740994n);
    expect(await host.call(lib, 'uint64_t add_u64(uint64_t, uint64_t)', [2n ** 63n, 2n ** 62n])).toBe(2n ** 63n + 2n ** 62n);
    expect(await host.call(lib, 'uint64_t add_u64(uint64_t, uint64_t)', [2n ** 64n - 1n, 1n])).toBe(0);
    expect(await host.call(lib, 'long long negate_ll(long long)', [-(2n ** 62n)])).toBe(2n ** 62n);
    expect(await host.call(lib, 'unsigned long ident_ul(unsigned long)', [2n ** 64n - 2n])).toBe(2n ** 64n - 2n);
    expect(await host.call(lib, 'int64_t add_i64(int64_t, int64_t)', [5, 6])).toBe(11);
  });

  it('passes float, double, NaN, infinities and -0 exactly', async () => {
    expect(await host.call(lib, 'float mul_f32(float, float)', [1.5, 2])).toBe(3);
    expect(await host.call(lib, 'double mul_f64(double, double)', [0.1, 3])).toBe(0.1 * 3);
    expect(await host.call(lib, 'double div_f64(double, double)', [1, 0])).toBe(Infinity);
    expect(await host.call(lib, 'double div_f64(double, double)', [-1, 0])).toBe(-Infinity);
    expect(await host.call(lib, 'double div_f64(double, double)', [0, 0])).toBeNaN();
    expect(Object.is(await host.call(lib, 'double mul_f64(double, double)', [-0, 1]), -0)).toBe(true);
    expect(await host.call(lib, 'double mul_f64(double, double)', [NaN, 1])).toBeNaN();
  });

  it('passes bool', async () => {
    expect(await host.call(lib, 'bool not_bool(bool)', [true])).toBe(false);
    expect(await host.call(lib, 'bool not_bool(bool)', [false])).toBe(true);
  });

  it('passes strings in and copies strings out, bytes when not UTF-8, null for NULL', async () => {
    expect(await host.call(lib, 'size_t str_len(const char *s)', ['héllo'])).toBe(6);
    expect(await host.call(lib, 'char *str_upper(const char *s)', ['airlock'])).toBe('AIRLOCK');
    expect(await host.call(lib, 'const char *str_static(void)', [])).toEqual(expect.any(String));
    const invalid = await host.call(lib, 'const char *str_invalid_utf8(void)', []);
    expect(invalid).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(invalid as Uint8Array).toString('latin1')).toBe('\xff\xfe ok');
    expect(await host.call(lib, 'const char *str_null(void)', [])).toBeNull();
    expect(await host.call(lib, 'size_t str_len(const char *s)', [new Uint8Array([0xff, 0x41, 0x42])])).toBe(3);
  });

  it('passes byte buffers with their length, and fills output buffers of the size given', async () => {
    expect(await host.call(lib, 'uint32_t sum_bytes(const uint8_t *data, size_t len)', [new Uint8Array([1, 2, 3, 250])])).toBe(256);
    expect(await host.call(lib, 'uint32_t sum_bytes(const uint8_t *data, size_t len)', [[1, 2, 3]])).toBe(6);
    const filled = (await host.call(lib, 'int fill_bytes(uint8_t *out, size_t len)', [5])) as { result: number; out: Uint8Array[] };
    expect(filled.result).toBe(5);
    expect(Array.from(filled.out[0]!)).toEqual([0, 1, 2, 3, 4]);
    expect(await host.call(lib, 'double sum_doubles(const double *xs, size_t n)', [[0.5, 1.25, 2]])).toBe(3.75);
    expect(await host.call(lib, 'double sum_doubles(const double *xs, size_t n)', [new Float64Array([1, 2])])).toBe(3);
    const iota = (await host.call(lib, 'int iota_i32(int32_t *out, size_t n)', [4])) as { result: number; out: Int32Array[] };
    expect(iota.out[0]).toBeInstanceOf(Int32Array);
    expect(Array.from(iota.out[0]!)).toEqual([0, 1, 2, 3]);
  });

  it('hands out opaque pointers that only their own worker accepts', async () => {
    const session = createHost({ workers: 1 });
    try {
      const counter = await session.call(lib, 'void *counter_new(int start)', [10]);
      expect(counter).toBeInstanceOf(OpaquePointer);
      expect(await session.call(lib, 'int counter_next(void *c)', [counter])).toBe(10);
      expect(await session.call(lib, 'int counter_next(void *c)', [counter])).toBe(11);
      expect(await session.call(lib, 'int is_null(const void *p)', [null])).toBe(1);
      expect(await session.call(lib, 'void counter_free(void *c)', [counter])).toBeNull();
      const foreign = new OpaquePointer((counter as OpaquePointer).address, 1);
      const error = await failure(session.call(lib, 'int counter_next(void *c)', [foreign]));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/pointer from worker 1/);
    } finally {
      await session.close();
    }
  });

  it('returns null for void', async () => {
    expect(await host.call(lib, 'void do_nothing(void)', [])).toBeNull();
  });
});

describe('bad input is named', () => {
  it('a missing library is LOAD_ERROR with the loader message', async () => {
    const error = await failure(host.call('./no/such/lib.so', 'int f(void)', []));
    expect(error.code).toBe('LOAD_ERROR');
    expect(error.message).toContain('no/such/lib.so');
    expect(error.message).toMatch(/No such file/);
    expect(await host.call(lib, 'int add(int, int)', [1, 2])).toBe(3);
  });

  it('a file that is not a library is LOAD_ERROR', async () => {
    const error = await failure(host.call(__filename, 'int f(void)', []));
    expect(error.code).toBe('LOAD_ERROR');
  });

  it('a missing symbol is LOAD_ERROR naming it', async () => {
    const error = await failure(host.call(lib, 'int no_such_function(int)', [1]));
    expect(error.code).toBe('LOAD_ERROR');
    expect(error.message).toContain('no_such_function');
  });

  it('an unparsable prototype is INVALID_ARGUMENT saying why', async () => {
    const error = await failure(host.call(lib, 'int add(int a, int b', [1, 2]));
    expect(error.code).toBe('INVALID_ARGUMENT');
    const byValue = await failure(host.call(lib, 'int f(struct big s)', [1]));
    expect(byValue.code).toBe('INVALID_ARGUMENT');
    expect(byValue.message).toMatch(/by value/);
  });

  it('a cwd that is no directory is INVALID_ARGUMENT naming it, when the host is created', () => {
    expect(() => createHost({ cwd: '/nonexistent-airlock-dir' })).toThrow('Invalid host options: cwd "/nonexistent-airlock-dir" does not exist (ENOENT)');
    expect(() => createHost({ cwd: lib })).toThrow(`Invalid host options: cwd ${JSON.stringify(lib)} is not a directory`);
  });

  it('arguments that do not fit are INVALID_ARGUMENT naming position, value and type', async () => {
    const wrongType = await failure(host.call(lib, 'int add(int a, int b)', [1, 'two']));
    expect(wrongType.code).toBe('INVALID_ARGUMENT');
    expect(wrongType.argument).toBe(1);
    expect(wrongType.message).toContain('argument 2 (b: int)');
    expect(wrongType.message).toContain('"two" (string)');
    const range = await failure(host.call(lib, 'uint8_t add_u8(uint8_t, uint8_t)', [256, 1]));
    expect(range.message).toMatch(/from 0 to 255, got 256/);
    const arity = await failure(host.call(lib, 'int add(int a, int b)', [1]));
    expect(arity.message).toMatch(/takes 2 arguments/);
    const unsafe = await failure(host.call(lib, 'int64_t add_i64(int64_t, int64_t)', [2 ** 60, 1]));
    expect(unsafe.message).toMatch(/pass a bigint/);
  });

  it('bad options are INVALID_ARGUMENT naming the option', async () => {
    const error = await failure(host.call(lib, 'int add(int, int)', [1, 2], { timeoutMs: -5 } as never));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('timeoutMs');
    const unknown = await failure(host.call(lib, 'int add(int, int)', [1, 2], { bogus: 1 } as never));
    expect(unknown.message).toContain('bogus');
    expect(() => createHost({ workers: 0 })).toThrow(/workers/);
  });

  it('abi auto without a prototype or plugin_metadata says which to choose', async () => {
    const error = await failure(host.call(lib, 'add', [1, 2]));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/prototype/);
  });
});

describe('crash, recovery and concurrency', () => {
  it('a SIGSEGV rejects with CRASHED and the next call gets a fresh worker', async () => {
    const hostile = fixture('hostile');
    const before = host.workerPids;
    const error = await failure(host.call(hostile, 'int crash_segv(void)', []));
    expect(error.code).toBe('CRASHED');
    expect(error.signal).toBe('SIGSEGV');
    expect(error.workerPid).toBeGreaterThan(0);
    expect(isAlive(error.workerPid!)).toBe(false);
    expect(await host.call(lib, 'int add(int, int)', [2, 2])).toBe(4);
    expect(before.length).toBeGreaterThanOrEqual(0);
  });

  it('SIGABRT and exit(n) are reported with their signal or status and last output', async () => {
    const hostile = fixture('hostile');
    const abort = await failure(host.call('libc.so.6', 'void abort(void)', []));
    expect(abort).toMatchObject({ code: 'CRASHED', signal: 'SIGABRT' });
    const exit = await failure(host.call(hostile, 'int exit_with(int)', [3]));
    expect(exit).toMatchObject({ code: 'CRASHED', exitCode: 3 });
    const words = await failure(host.call(hostile, 'int write_then_crash(void)', []));
    expect(words.code).toBe('CRASHED');
    expect(words.output?.join('\n')).toContain('last words before crash');
    expect(await host.call(lib, 'int add(int, int)', [3, 4])).toBe(7);
  });

  it('50 concurrent calls return the right values', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => host.call(lib, 'int add(int a, int b)', [i, 1000])));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1000));
  });

  it('plugin stdout never corrupts the channel: 200 fake Content-Length headers', async () => {
    const lines: string[] = [];
    const noisy = createHost({ onLog: (entry) => lines.push(`${entry.stream}:${entry.line}`) });
    try {
      expect(await noisy.call(fixture('hostile'), 'int print_fake_headers(int)', [200])).toBe(42);
      expect(await noisy.call(fixture('hostile'), 'int print_and_return(int)', [9])).toBe(9);
      expect(lines.some((l) => l.startsWith('stdout:Content-Length: 99999'))).toBe(true);
      // Output travels on its own pipes, so it may land just after the result.
      // (The fake headers end without a newline, so the next line is joined to their tail.)
      expect(await eventually(() => lines.some((l) => l.startsWith('stdout:') && l.endsWith('hello from plugin 9')) && lines.includes('stderr:stderr line 9'))).toBe(true);
    } finally {
      await noisy.close();
    }
  });
});

describe('close', () => {
  it('leaves no worker process behind and rejects later calls', async () => {
    const local = createHost({ workers: 2 });
    await Promise.all([local.call(lib, 'int add(int, int)', [1, 1]), local.call(lib, 'int add(int, int)', [1, 1])]);
    const pids = local.workerPids;
    expect(pids.length).toBeGreaterThan(0);
    await local.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    const error = await failure(local.call(lib, 'int add(int, int)', [1, 1]));
    expect(error.code).toBe('UNAVAILABLE');
  });

  it('settles calls still waiting in the queue', async () => {
    // One call at a time: the second waits in the host's queue (a pipelined one would already be
    // with the worker, which runs it before it ends).
    const local = createHost({ workers: 1, pipeline: 1 });
    const sleep = 'int sleep_ms(int)';
    expect(await local.call(fixture('hostile'), sleep, [1])).toBe(1);
    const running = local.call(fixture('hostile'), sleep, [300]);
    const waiting = local.call(fixture('hostile'), sleep, [1]);
    await new Promise((r) => setTimeout(r, 50));
    const closing = local.close();
    const [first, second] = await Promise.allSettled([running, waiting]);
    await closing;
    // A running call finishes: close() ends the channel and lets the worker answer first.
    expect(first).toEqual({ status: 'fulfilled', value: 300 });
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('await using', () => {
  it('closes the host at the end of the block', async () => {
    let pids: number[] = [];
    {
      await using scoped = createHost();
      expect(await scoped.call(lib, 'int add(int, int)', [2, 3])).toBe(5);
      pids = scoped.workerPids;
    }
    expect(pids.length).toBe(1);
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)))).toBe(true);
  });
});
