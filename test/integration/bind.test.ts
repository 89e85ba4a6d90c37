// host.bind at run time: a function bound once and called like itself, a batch through .many,
// a bad prototype refused at bind time, vAccel functions taking their one object.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILD, fixture } from '../helpers/fixtures.js';
import { closeHosts, failure, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

describe('host.bind', () => {
  it('calls the bound function with its own arguments, and .many runs a batch', async () => {
    const host = trackedHost();
    const cos = host.bind('libm.so.6', 'double cos(double)');
    expect(cos.library).toBe('libm.so.6');
    expect(cos.fn).toBe('double cos(double)');
    expect(await cos(0)).toBe(1);
    const add = host.bind(fixture('types'), 'uint64_t add_u64(uint64_t a, uint64_t b)');
    expect(await add(2n ** 63n, 1)).toBe(2n ** 63n + 1n);
    expect(await add.many([[1, 2], [3, 4]])).toEqual([
      { status: 'fulfilled', value: 3 },
      { status: 'fulfilled', value: 7 },
    ]);
    const abort = host.bind('libc.so.6', 'void abort(void)');
    expect(await failure(abort())).toMatchObject({ code: 'CRASHED', signal: 'SIGABRT' });
    const srand = host.bind('libc.so.6', 'void srand(unsigned int seed)');
    expect(await srand(1)).toBeNull();
    expect(await cos(0)).toBe(1);
  });

  it('refuses a bad prototype or option when binding, naming it, before any worker starts', async () => {
    const host = trackedHost();
    const prototype = (() => {
      try {
        host.bind('libm.so.6', 'double cos(doubel)');
      } catch (error) {
        return error;
      }
    })();
    expect(prototype).toMatchObject({ code: 'INVALID_ARGUMENT', details: { prototype: 'double cos(doubel)' } });
    expect(() => host.bind('libm.so.6', 'double cos(double)', { timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(host.workerPids).toEqual([]);
    // The arguments are still checked at each call.
    const cos = host.bind('libm.so.6', 'double cos(double)');
    expect(await failure((cos as unknown as (x: unknown) => Promise<number>)('zero'))).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 0 });
  });

  it('binds vAccel functions, which take their one { read, write } object, and keeps the options', async () => {
    const host = trackedHost();
    const library = join(BUILD, 'vaccel/main/examples/libmytestlib.so');
    const mytestfunc = host.bind(library, 'mytestfunc');
    const double = { read: [{ int32: 10 }], write: [{ int32: null }] };
    expect(await mytestfunc(double)).toEqual({ status: 0, write: [20] });
    expect(await mytestfunc.many([[double], [{ read: [{ int32: 1 }], write: [{ int32: null }] }]])).toEqual([
      { status: 'fulfilled', value: { status: 0, write: [20] } },
      { status: 'fulfilled', value: { status: 0, write: [2] } },
    ]);
    const slow = host.bind(fixture('hostile'), 'int sleep_ms(int)', { timeoutMs: 100 });
    expect(await failure(slow(2000))).toMatchObject({ code: 'TIMEOUT' });
    await host.close();
    expect(await failure(mytestfunc(double))).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
