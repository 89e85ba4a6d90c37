import { endianness } from 'node:os';
import {
  type VaccelArguments,
  type VaccelLayout,
  VaccelArgumentError,
  decodeVaccelWrite,
  errnoName,
  prepareVaccelArguments,
} from '@airlock/protocol';
import { invalidArgument, loadError, pluginError } from '../failure.js';
import { type LoadedLibrary, hasSymbol, libraryFunction } from '../loader/library-cache.js';
import { type NativePointer, nativeAlloc, nativeCopy, nativeFree, nativeRead } from './native-memory.js';

/**
 * vAccel's exec ABI (CONTRACT.md):
 *
 *   int fn(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write);
 *
 * with `struct vaccel_arg` in one of two layouts (LP64):
 *   v0.8  { void *buf; size_t size; uint32_t type; uint32_t custom_type_id; bool owned; }
 *         buf 0, size 8, type 16, custom_type_id 20, owned 24; 32 bytes
 *   v0.7  { uint32_t argtype; uint32_t size; void *buf; }
 *         argtype 0, size 4, buf 8; 16 bytes
 *
 * The two struct arrays are JS buffers handed to the call as pointers; every `buf` is a calloc'd
 * block of its own (read buffers filled with the encoded value, write buffers zeroed) that lives
 * until the call returns; `custom_type_id` is 0 and `owned` false (the host owns every buffer).
 * After the call the write buffers are decoded from the blocks airlock allocated, with the sizes
 * it gave: a plugin that re-points `buf` or changes `size` is not followed.
 */

const LITTLE = endianness() === 'LE';

interface Layout {
  size: number;
  write(view: DataView, offset: number, buf: NativePointer, size: number, type: number): void;
}

const LAYOUTS: Record<VaccelLayout, Layout> = {
  'v0.8': {
    size: 32,
    write(view, offset, buf, size, type) {
      view.setBigUint64(offset, buf, LITTLE);
      view.setBigUint64(offset + 8, BigInt(size), LITTLE);
      view.setUint32(offset + 16, type, LITTLE);
      view.setUint32(offset + 20, 0, LITTLE);
      view.setUint8(offset + 24, 0);
    },
  },
  'v0.7': {
    size: 16,
    write(view, offset, buf, size, type) {
      view.setUint32(offset, type, LITTLE);
      view.setUint32(offset + 4, size, LITTLE);
      view.setBigUint64(offset + 8, buf, LITTLE);
    },
  },
};

type ExecFunction = (read: Uint8Array | null, nrRead: number, write: Uint8Array | null, nrWrite: number) => number;

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The koffi function for `fn`, built once per (library, fn, layout). */
function execFunction(library: LoadedLibrary, fn: string, layout: VaccelLayout): ExecFunction {
  if (!SYMBOL.test(fn)) {
    throw invalidArgument(`A vAccel function is named by its symbol (letters, digits, _), got ${JSON.stringify(fn)}`);
  }
  if (!hasSymbol(library, fn)) {
    throw loadError(`Library ${JSON.stringify(library.request)} has no function ${JSON.stringify(fn)}`, {
      details: { library: library.request, symbol: fn },
    });
  }
  return libraryFunction(library, `vaccel:${layout}:${fn}`, (handle) =>
    handle.func(fn, 'int', ['void *', 'size_t', 'void *', 'size_t']),
  ) as ExecFunction;
}

/** A zeroed array of `count` structs in JS memory (8-byte aligned), or null for none. */
function structArray(count: number, shape: Layout): Uint8Array | null {
  return count === 0 ? null : new Uint8Array(new ArrayBuffer(count * shape.size));
}

/** Checks and encodes the arguments; a mismatch is INVALID_ARGUMENT naming the argument. */
function prepare(args: unknown, layout: VaccelLayout): VaccelArguments {
  if (!Object.hasOwn(LAYOUTS, layout)) throw invalidArgument(`Unknown vAccel argument layout ${JSON.stringify(layout)} (v0.8 or v0.7)`);
  try {
    return prepareVaccelArguments(args);
  } catch (error) {
    if (error instanceof VaccelArgumentError) {
      const details: Record<string, unknown> = {};
      if (error.list !== null) details.list = error.list;
      if (error.index !== null) details.index = error.index;
      if (error.type !== null) details.type = error.type;
      throw invalidArgument(error.message, { argument: error.position, details });
    }
    throw error;
  }
}

/**
 * Calls `int fn(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write)`
 * of a loaded library with arguments in the API's form (`{ read: [{ int32: 10 }], write: [{ int32: null }] }`).
 * Resolves to `{ status: 0, write }`, `write` holding each write argument decoded: numbers
 * (bigints for 64-bit integers), booleans, plain arrays for counts, strings up to their first
 * NUL, Uint8Arrays for raw/buffer. A non-zero status is PLUGIN_ERROR with `status` and `errno`.
 * Empty lists are passed as NULL with a count of 0.
 */
export function callVaccel(library: LoadedLibrary, fn: string, args: unknown, layout: VaccelLayout = 'v0.8'): { status: 0; write: unknown[] } {
  const prepared = prepare(args, layout);
  const exec = execFunction(library, fn, layout);
  const shape = LAYOUTS[layout];
  const blocks: NativePointer[] = [];
  try {
    const readArray = structArray(prepared.read.length, shape);
    const writeArray = structArray(prepared.write.length, shape);
    if (readArray !== null) {
      const view = new DataView(readArray.buffer);
      for (const arg of prepared.read) {
        const buf = nativeCopy(arg.bytes);
        blocks.push(buf);
        shape.write(view, arg.index * shape.size, buf, arg.bytes.byteLength, arg.type.code);
      }
    }
    const writeBuffers: NativePointer[] = [];
    if (writeArray !== null) {
      const view = new DataView(writeArray.buffer);
      for (const arg of prepared.write) {
        const buf = nativeAlloc(arg.size);
        blocks.push(buf);
        writeBuffers.push(buf);
        shape.write(view, arg.index * shape.size, buf, arg.size, arg.type.code);
      }
    }

    const status = exec(readArray, prepared.read.length, writeArray, prepared.write.length);
    if (status !== 0) {
      const name = errnoName(status);
      throw pluginError(`${fn} returned status ${status} (${name ?? 'not a known errno'})`, name === undefined ? { status } : { status, errno: name });
    }
    const write = prepared.write.map((arg, i) =>
      decodeVaccelWrite(arg.type, arg.count, nativeRead(writeBuffers[i]!, arg.size)),
    );
    return { status: 0, write };
  } finally {
    for (const block of blocks) nativeFree(block);
  }
}
