import { endianness } from 'node:os';
import {
  type VaccelArguments,
  type VaccelLayout,
  type VaccelLayoutDecision,
  type VaccelLayoutName,
  VACCEL_EXEC_FAILURE,
  VaccelArgumentError,
  decideVaccelLayout,
  decodeVaccelWrite,
  errnoName,
  prepareVaccelArguments,
  readElfExportsSync,
  vaccelImports,
  vaccelLayoutNamed,
} from '@airlock/protocol';
import { invalidArgument, loadError, pluginError } from '../failure.js';
import { type LoadedLibrary, hasSymbol, libraryFunction } from '../loader/library-cache.js';
import { type NativePointer, nativeAlloc, nativeCopy, nativeFree, nativeRead } from './native-memory.js';

/**
 * vAccel's exec ABI (README.md, "vAccel's exec ABI"):
 *
 *   int fn(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write);
 *
 * with `struct vaccel_arg` in one of two layouts (LP64), named after the vAccel versions:
 *   main  { void *buf; size_t size; uint32_t type; uint32_t custom_type_id; bool owned; }
 *         buf 0, size 8, type 16, custom_type_id 20, owned 24; 32 bytes
 *   v0.7  { uint32_t argtype; uint32_t size; void *buf; }
 *         argtype 0, size 4, buf 8; 16 bytes
 * `auto` reads the layout from the library's imports (see decideVaccelLayout).
 *
 * The two struct arrays are JS buffers handed to the call as pointers; every `buf` is a calloc'd
 * block of its own (read buffers filled with the encoded value, write buffers zeroed) that lives
 * until the call returns; `custom_type_id` is the argument's `typeId` (0 but for custom) and
 * `owned` false (the host owns every buffer). In v0.7, `argtype` is the caller's tag, else
 * the type's number (a custom argument's `typeId`).
 * After the call the write buffers are decoded from the blocks airlock allocated, with the sizes
 * it gave: a plugin that re-points `buf` or changes `size` is not followed.
 */

const LITTLE = endianness() === 'LE';

/** What one struct says besides its buffer: its type's number and its tags. */
interface StructFields {
  code: number;
  typeId: number;
  argtype: number | undefined;
}

interface Layout {
  size: number;
  write(view: DataView, offset: number, buf: NativePointer, size: number, fields: StructFields): void;
}

const LAYOUTS: Record<VaccelLayoutName, Layout> = {
  main: {
    size: 32,
    write(view, offset, buf, size, fields) {
      view.setBigUint64(offset, buf, LITTLE);
      view.setBigUint64(offset + 8, BigInt(size), LITTLE);
      view.setUint32(offset + 16, fields.code, LITTLE);
      view.setUint32(offset + 20, fields.typeId, LITTLE);
      view.setUint8(offset + 24, 0);
    },
  },
  'v0.7': {
    size: 16,
    write(view, offset, buf, size, fields) {
      view.setUint32(offset, fields.argtype ?? (fields.typeId !== 0 ? fields.typeId : fields.code), LITTLE);
      view.setUint32(offset + 4, size, LITTLE);
      view.setBigUint64(offset + 8, buf, LITTLE);
    },
  },
};

/** The library's dynamic imports, read once from its file (none when it cannot be read again). */
function importsOf(library: LoadedLibrary): string[] {
  const known = library.abiState.get('imports') as string[] | undefined;
  if (known !== undefined) return known;
  let imports: string[] = [];
  if (library.path !== undefined) {
    try {
      imports = readElfExportsSync(library.path).imports;
    } catch {
      // The loader loaded it, so it is an ELF file; a file that cannot be read again reads as importing nothing.
    }
  }
  library.abiState.set('imports', imports);
  return imports;
}

/** Whether the library imports vAccel's symbols (`vaccel_*`): it speaks the vAccel exec ABI. */
export function importsVaccel(library: LoadedLibrary): boolean {
  return vaccelImports(importsOf(library)).length > 0;
}

/**
 * The layout a call of `library` gets: the one asked for, or for `auto` the one its imports say
 * (read once per library from its file, and from the libvaccel it is bound to).
 */
export function vaccelLayoutOf(library: LoadedLibrary, asked: VaccelLayout = 'auto'): VaccelLayoutDecision {
  if (asked !== 'auto') {
    const layout = vaccelLayoutNamed(asked);
    if (layout === undefined) throw invalidArgument(`Unknown vAccel argument layout ${JSON.stringify(asked)} (auto, main, v0.7; v0.8 is main's old name)`);
    return { layout, reason: `chosen by the caller (vaccelArgLayout ${JSON.stringify(asked)})`, helpers: [] };
  }
  const known = library.abiState.get('vaccel-layout') as VaccelLayoutDecision | undefined;
  if (known !== undefined) return known;
  const decision = decideVaccelLayout(importsOf(library), hasSymbol(library, 'vaccel_arg_array_wrap'));
  library.abiState.set('vaccel-layout', decision);
  return decision;
}

type ExecFunction = (read: Uint8Array | null, nrRead: number, write: Uint8Array | null, nrWrite: number) => number;

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The koffi function for `fn`, built once per (library, fn). */
function execFunction(library: LoadedLibrary, fn: string): ExecFunction {
  if (!SYMBOL.test(fn)) {
    throw invalidArgument(`A vAccel function is named by its symbol (letters, digits, _), got ${JSON.stringify(fn)}`);
  }
  if (!hasSymbol(library, fn)) {
    throw loadError(`Library ${JSON.stringify(library.request)} has no function ${JSON.stringify(fn)}`, {
      details: { library: library.request, symbol: fn },
    });
  }
  return libraryFunction(library, `vaccel:${fn}`, (handle) =>
    handle.func(fn, 'int', ['void *', 'size_t', 'void *', 'size_t']),
  ) as ExecFunction;
}

/** A zeroed array of `count` structs in JS memory (8-byte aligned), or null for none. */
function structArray(count: number, shape: Layout): Uint8Array | null {
  return count === 0 ? null : new Uint8Array(new ArrayBuffer(count * shape.size));
}

/** Checks and encodes the arguments; a mismatch is INVALID_ARGUMENT naming the argument. */
function prepare(args: unknown, layout: VaccelLayoutName): VaccelArguments {
  let prepared: VaccelArguments;
  try {
    prepared = prepareVaccelArguments(args);
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
  if (layout === 'main') {
    for (const [list, args, first] of [['read', prepared.read, 0], ['write', prepared.write, prepared.read.length]] as const) {
      const arg = args.find((a) => a.argtype !== undefined);
      if (arg === undefined) continue;
      throw invalidArgument(`${list}[${arg.index}] (${arg.type.name}) sets argtype, the tag of the v0.7 layout; the main layout has type and custom_type_id (typeId) instead`, {
        argument: first + arg.index,
        details: { list, index: arg.index, type: arg.type.name, layout },
      });
    }
  }
  return prepared;
}

/**
 * Calls `int fn(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write)`
 * of a loaded library with arguments in the API's form (`{ read: [{ int32: 10 }], write: [{ int32: null }] }`).
 * Resolves to `{ status: 0, write }`, `write` holding each write argument decoded: numbers
 * (bigints for 64-bit integers), booleans, plain arrays for counts, strings up to their first
 * NUL, Uint8Arrays for raw/buffer. A non-zero status is PLUGIN_ERROR with `status` and `errno`.
 * Empty lists are passed as NULL with a count of 0. `asked`: the layout, or `auto` to read it
 * from the library.
 */
export function callVaccel(library: LoadedLibrary, fn: string, args: unknown, asked: VaccelLayout = 'auto'): { status: 0; write: unknown[] } {
  const { layout } = vaccelLayoutOf(library, asked);
  const prepared = prepare(args, layout);
  const exec = execFunction(library, fn);
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
        shape.write(view, arg.index * shape.size, buf, arg.bytes.byteLength, { code: arg.type.code, typeId: arg.typeId, argtype: arg.argtype });
      }
    }
    const writeBuffers: NativePointer[] = [];
    if (writeArray !== null) {
      const view = new DataView(writeArray.buffer);
      for (const arg of prepared.write) {
        const buf = nativeAlloc(arg.size);
        blocks.push(buf);
        writeBuffers.push(buf);
        shape.write(view, arg.index * shape.size, buf, arg.size, { code: arg.type.code, typeId: arg.typeId, argtype: arg.argtype });
      }
    }

    const status = exec(readArray, prepared.read.length, writeArray, prepared.write.length);
    if (status !== 0) {
      // vaccel_exec does not return the function's status: it returns one code of its own, which differs by version.
      const name = errnoName(status);
      const exec = VACCEL_EXEC_FAILURE[layout];
      throw pluginError(`${fn} returned status ${status} (${name ?? 'not a known errno'}); vaccel_exec would return ${exec.name} (${exec.status})`, {
        status,
        ...(name !== undefined && { errno: name }),
        details: { vaccelStatus: exec.status, vaccelError: exec.name, layout },
      });
    }
    const write = prepared.write.map((arg, i) =>
      decodeVaccelWrite(arg.type, arg.count, nativeRead(writeBuffers[i]!, arg.size)),
    );
    return { status: 0, write };
  } finally {
    for (const block of blocks) nativeFree(block);
  }
}
