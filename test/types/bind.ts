// Compiled with `tsc --noEmit` by test/unit/bind-types.test.ts (and by `npm run typecheck`):
// what host.bind infers from a literal prototype. Every `@ts-expect-error` line must fail to
// compile; every other line must compile.
import { type BoundFunction, type OpaquePointer, createHost } from '@airlock/host';

const host = createHost();

const cos = host.bind('libm.so.6', 'double cos(double)');
export const cosine: Promise<number> = cos(0);
// @ts-expect-error a double takes a number, not a string
cos('0');
// @ts-expect-error one argument, not two
cos(0, 1);
// @ts-expect-error the result is a number
export const notAString: Promise<string> = cos(0);

const add64 = host.bind('libtypes.so', 'uint64_t add_u64(uint64_t a, uint64_t b)');
export const sum: Promise<number | bigint> = add64(2n ** 63n, 1);
// @ts-expect-error 64-bit integers take number | bigint, not strings
add64('1', 2);

const strerror = host.bind('libc.so.6', 'const char *strerror(int)');
export const message: Promise<string | Uint8Array | null> = strerror(2);

const sumBytes = host.bind('libtypes.so', 'uint32_t sum_bytes(const uint8_t *data, size_t len)');
export const bytesSum: Promise<number> = sumBytes(new Uint8Array([1, 2]));
sumBytes('text');
// @ts-expect-error the (pointer, length) pair is one argument
sumBytes(new Uint8Array([1]), 1);

const fill = host.bind('libtypes.so', 'int fill_bytes(uint8_t *out, size_t len)');
export const filled: Promise<{ result: number; out: [Uint8Array] }> = fill(16);

const counterNew = host.bind('libtypes.so', 'void *counter_new(int)');
const counterAdd = host.bind('libtypes.so', 'int counter_add(void *c, int n)');
export async function count(): Promise<number> {
  const counter: OpaquePointer | null = await counterNew(1);
  return counterAdd(counter, 2);
}

const abort = host.bind('libc.so.6', 'void abort(void)');
export const nothing: Promise<null> = abort();

// A batch of the same function: argument lists, results settled one by one.
export const batch: Promise<Array<PromiseSettledResult<number>>> = cos.many([[0], [1]]);
// @ts-expect-error each element is an argument list
cos.many([0, 1]);

// What it cannot read (a misspelt type, a name without a prototype) takes anything; a type argument says more.
const unknown = host.bind('libx.so', 'itn f(int)');
export const anything: Promise<unknown> = unknown('whatever', 1);
const named = host.bind<(x: { read: unknown[]; write: unknown[] }) => Promise<{ status: 0; write: unknown[] }>>('libmytestlib.so', 'mytestfunc', { abi: 'vaccel' });
export const status: Promise<{ status: 0; write: unknown[] }> = named({ read: [], write: [] });
export const typed: BoundFunction<(x: number) => Promise<number>> = host.bind<(x: number) => Promise<number>>('libm.so.6', 'cos');

// call takes a result type too.
export const called: Promise<number> = host.call<number>('libm.so.6', 'double cos(double)', [0]);
