import koffi from 'koffi';
import { WorkerFailure } from '../failure.js';

/**
 * Native memory for the self-describing ABIs (Arroyo, vAccel): blocks from libc calloc whose
 * addresses never move, bytes copied in and out with memcpy (a JS Uint8Array passed as a
 * `void *` argument hands its own memory to the call), C strings in and out, and libc free —
 * the same free a plugin's malloc pairs with, which is how the host frees strings a plugin
 * hands over. koffi represents pointers as bigints.
 *
 * No `koffi.view()` here on purpose: every view of native memory costs a few hundred bytes
 * that the worker never gets back (measured: RSS +22 MB per 100,000 views, after GC).
 */
export type NativePointer = bigint;

const libc = koffi.load('libc.so.6');
const callocNative = libc.func('void *calloc(size_t nmemb, size_t size)') as (n: number, size: number) => bigint | null;
const freeNative = libc.func('void free(void *ptr)') as (ptr: bigint) => void;
const strlenNative = libc.func('size_t strlen(const void *s)') as (s: bigint) => number | bigint;
const memcpyNative = libc.func('void *memcpy(void *dest, const void *src, size_t n)') as (
  dest: bigint | Uint8Array,
  src: bigint | Uint8Array,
  n: number,
) => unknown;

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Whether a pointer koffi gave back is NULL. */
export function isNull(pointer: unknown): boolean {
  return pointer === null || pointer === undefined || pointer === 0n || pointer === 0;
}

/** Allocates `size` zeroed bytes (at least one, so the pointer is never NULL); a failure is LIMIT_EXCEEDED memory. */
export function nativeAlloc(size: number): NativePointer {
  const pointer = callocNative(Math.max(size, 1), 1);
  if (isNull(pointer)) {
    throw new WorkerFailure('LIMIT_EXCEEDED', `Cannot allocate ${size} bytes for the call's arguments`, { limit: 'memory' });
  }
  return pointer as bigint;
}

/** Frees memory from nativeAlloc or from the plugin's malloc. NULL is ignored. */
export function nativeFree(pointer: NativePointer | null): void {
  if (!isNull(pointer)) freeNative(pointer as bigint);
}

/** Copies bytes into native memory at `pointer`. */
export function nativeWrite(pointer: NativePointer, bytes: Uint8Array): void {
  if (bytes.byteLength > 0) memcpyNative(pointer, bytes, bytes.byteLength);
}

/** Copies `size` bytes of native memory at `pointer` into a new Uint8Array. */
export function nativeRead(pointer: NativePointer, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (size > 0) memcpyNative(out, pointer, size);
  return out;
}

/** Copies bytes into a new native block (at least one byte long); the caller frees it. */
export function nativeCopy(bytes: Uint8Array): NativePointer {
  const pointer = nativeAlloc(bytes.byteLength);
  nativeWrite(pointer, bytes);
  return pointer;
}

/** A NUL-terminated UTF-8 copy of a string in native memory; the caller frees it. */
export function cString(text: string): NativePointer {
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = utf8Encoder.encodeInto(text, bytes);
  return nativeCopy(bytes.subarray(0, written + 1));
}

/** Decodes the NUL-terminated UTF-8 string at a pointer (invalid sequences become U+FFFD). */
export function readCString(pointer: NativePointer): string {
  const length = Number(strlenNative(pointer));
  return utf8Decoder.decode(nativeRead(pointer, length));
}
