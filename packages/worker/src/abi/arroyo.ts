import { endianness } from 'node:os';
import koffi, { type TypeObject } from 'koffi';
import {
  type ArroyoMetadata,
  type ArroyoType,
  ArgumentError,
  arroyoTypeCode,
  arroyoTypeOf,
  checkArroyoArguments,
} from '@airlock/protocol';
import { WorkerFailure, invalidArgument, loadError, pluginError } from '../failure.js';
import { type LoadedLibrary, hasSymbol, libraryFunction } from '../loader/library-cache.js';
import { cString, isNull, nativeFree, readCString, type NativePointer } from './native-memory.js';

/**
 * The Arroyo plugin ABI (README.md, "Arroyo's self-describing plugins"), byte for byte on LP64 Linux:
 *
 *   typedef enum { Bool, Int, UInt, Double, String } PluginType;          // int-sized
 *   typedef struct { PluginType tag; union { bool b; int64_t i; uint64_t u; double d; const char *s; }; } PluginValue;
 *                                      // tag at 0, value at 8, 16 bytes
 *   typedef struct { int tag; union { PluginValue ok; char *err; }; } PluginResult;
 *                                      // tag at 0 (0 Ok, 1 Err), payload at 8, 24 bytes
 *   typedef struct { const char *name; const PluginType *arg_types; size_t arg_types_len; PluginType return_type; } PluginMetadata;
 *                                      // 32 bytes
 *   PluginMetadata plugin_metadata(void);
 *   PluginResult plugin_entrypoint(const PluginValue *args, size_t args_len);
 *
 * The PluginValue array is laid out by hand in a JS buffer handed to the call as `void *`, its
 * strings copied to calloc'd blocks that live until the call returns; the result comes back
 * as raw bytes decoded here. Strings the
 * plugin returns (Ok String values, Err messages) belong to the host and are freed with libc free.
 */

const LITTLE = endianness() === 'LE';
const VALUE_SIZE = 16;
const VALUE_PAYLOAD = 8;
/** Metadata with more arguments than this is taken for garbage. */
const MAX_ARGS = 4096;

/** koffi types, built once per process (anonymous: koffi's type names are global). */
let types: { metadata: TypeObject; result: TypeObject } | undefined;
function abiTypes(): { metadata: TypeObject; result: TypeObject } {
  if (types === undefined) {
    const metadata = koffi.struct({
      name: 'void *',
      arg_types: 'void *',
      arg_types_len: 'size_t',
      return_type: 'int',
    });
    // The union is read as raw bytes: 8-byte aligned like the C union (PluginValue has an 8-byte member).
    const result = koffi.struct({ tag: 'int', payload: [8, koffi.array('uint8_t', 16)] });
    if (koffi.sizeof(metadata) !== 32 || koffi.sizeof(result) !== 24 || koffi.offsetof(result, 'payload') !== 8) {
      throw new Error('koffi laid out the Arroyo structs differently from C');
    }
    types = { metadata, result };
  }
  return types;
}

interface ArroyoState {
  metadata: ArroyoMetadata;
  entrypoint?: (args: Uint8Array, len: number) => { tag: number; payload: Uint8Array };
}

const STATE_KEY = 'arroyo';

function state(library: LoadedLibrary): ArroyoState | undefined {
  return library.abiState.get(STATE_KEY) as ArroyoState | undefined;
}

function badMetadata(library: LoadedLibrary, why: string): WorkerFailure {
  return loadError(`Library ${JSON.stringify(library.request)} is not a valid Arroyo plugin: plugin_metadata() ${why}`, {
    details: { library: library.request, symbol: 'plugin_metadata' },
  });
}

/** Whether a library speaks the Arroyo ABI (exports `plugin_metadata`): what `abi: 'auto'` looks for. */
export function isArroyoPlugin(library: LoadedLibrary): boolean {
  return hasSymbol(library, 'plugin_metadata');
}

/**
 * Calls `plugin_metadata()` once per library and caches what it says. A library without the
 * symbol, or whose metadata is malformed (NULL name, unknown type numbers …), is a LOAD_ERROR.
 */
export function readArroyoMetadata(library: LoadedLibrary): ArroyoMetadata {
  const known = state(library);
  if (known !== undefined) return known.metadata;
  if (!hasSymbol(library, 'plugin_metadata')) {
    throw loadError(`Library ${JSON.stringify(library.request)} is not an Arroyo plugin: it does not export plugin_metadata`, {
      details: { library: library.request, symbol: 'plugin_metadata' },
    });
  }
  const { metadata: MetadataType } = abiTypes();
  const fn = libraryFunction(library, 'arroyo:plugin_metadata', (handle) => handle.func('plugin_metadata', MetadataType, []));
  const raw = fn() as { name: unknown; arg_types: unknown; arg_types_len: unknown; return_type: unknown };

  if (isNull(raw.name)) throw badMetadata(library, 'returned a NULL name');
  const name = readCString(raw.name as NativePointer);
  const count = Number(raw.arg_types_len);
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_ARGS) {
    throw badMetadata(library, `declares ${String(raw.arg_types_len)} arguments (at most ${MAX_ARGS} are taken seriously)`);
  }
  let codes: number[] = [];
  if (count > 0) {
    if (isNull(raw.arg_types)) throw badMetadata(library, `declares ${count} arguments but arg_types is NULL`);
    codes = Array.from(koffi.decode(raw.arg_types, 'int', count) as ArrayLike<number>);
  }
  const argTypes = codes.map((code, index) => {
    const type = arroyoTypeOf(code);
    if (type === undefined) throw badMetadata(library, `gives argument ${index + 1} the type ${code}, which is not a PluginType (0 Bool … 4 String)`);
    return type;
  });
  const returnType = arroyoTypeOf(raw.return_type as number);
  if (returnType === undefined) throw badMetadata(library, `gives the return type ${String(raw.return_type)}, which is not a PluginType (0 Bool … 4 String)`);

  const metadata: ArroyoMetadata = { name, argTypes, returnType };
  library.abiState.set(STATE_KEY, { metadata } satisfies ArroyoState);
  return metadata;
}

function entrypoint(library: LoadedLibrary, st: ArroyoState): NonNullable<ArroyoState['entrypoint']> {
  if (st.entrypoint !== undefined) return st.entrypoint;
  if (!hasSymbol(library, 'plugin_entrypoint')) {
    throw loadError(`Arroyo plugin ${JSON.stringify(library.request)} does not export plugin_entrypoint`, {
      details: { library: library.request, symbol: 'plugin_entrypoint' },
    });
  }
  const { result } = abiTypes();
  const fn = libraryFunction(library, 'arroyo:plugin_entrypoint', (handle) => handle.func('plugin_entrypoint', result, ['void *', 'size_t']));
  st.entrypoint = fn as NonNullable<ArroyoState['entrypoint']>;
  return st.entrypoint;
}

/** Writes one checked argument into its 16-byte PluginValue slot. */
function writeValue(view: DataView, offset: number, type: ArroyoType, value: unknown, strings: NativePointer[]): void {
  view.setInt32(offset, arroyoTypeCode(type), LITTLE);
  const at = offset + VALUE_PAYLOAD;
  switch (type) {
    case 'Bool':
      view.setUint8(at, value ? 1 : 0);
      return;
    case 'Int':
      view.setBigInt64(at, BigInt(value as number | bigint), LITTLE);
      return;
    case 'UInt':
      view.setBigUint64(at, BigInt(value as number | bigint), LITTLE);
      return;
    case 'Double':
      view.setFloat64(at, value as number, LITTLE);
      return;
    case 'String': {
      const pointer = cString(value as string);
      strings.push(pointer);
      view.setBigUint64(at, pointer, LITTLE);
      return;
    }
  }
}

/** A 64-bit integer as a number when exact, otherwise a bigint. */
function exactInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Reads a pointer the plugin handed over, decodes the C string it points to and frees it. NULL gives null. */
function takeString(pointer: bigint): string | null {
  if (pointer === 0n) return null;
  try {
    return readCString(pointer);
  } finally {
    nativeFree(pointer);
  }
}

/**
 * Calls an Arroyo plugin's entrypoint with arguments checked against its metadata first (a
 * mismatch is INVALID_ARGUMENT with `argument` = the 0-based position, before any native code
 * runs). Returns the Ok value: Bool → boolean, Int/UInt → number when it is a safe integer,
 * otherwise bigint (exact over the full 64 bits), Double → number, String → string, or null
 * when the plugin returned a NULL string. An Err becomes PLUGIN_ERROR with the plugin's message
 * ("(no message)" for NULL). A result whose tags do not match the plugin's own metadata is a
 * PLUGIN_ERROR saying so. With `fn`, the call is refused (INVALID_ARGUMENT) unless it is the
 * name the plugin's metadata gives.
 */
export function callArroyo(library: LoadedLibrary, args: unknown[], fn?: string): unknown {
  const metadata = readArroyoMetadata(library);
  if (fn !== undefined && fn !== metadata.name) {
    throw invalidArgument(`Arroyo plugin ${JSON.stringify(library.request)} is named ${JSON.stringify(metadata.name)}, not ${JSON.stringify(fn)}`, {
      details: { plugin: metadata.name },
    });
  }
  try {
    checkArroyoArguments(metadata, args);
  } catch (error) {
    if (error instanceof ArgumentError) {
      throw invalidArgument(error.message, { argument: error.position, details: { plugin: metadata.name } });
    }
    throw error;
  }
  const st = state(library)!;
  const call = entrypoint(library, st);

  const count = args.length;
  const strings: NativePointer[] = [];
  // Never NULL, even for no arguments: a plugin may read args before checking args_len.
  const block = new Uint8Array(new ArrayBuffer(Math.max(count, 1) * VALUE_SIZE));
  const view = new DataView(block.buffer);
  let result: { tag: number; payload: Uint8Array };
  try {
    for (let i = 0; i < count; i += 1) writeValue(view, i * VALUE_SIZE, metadata.argTypes[i]!, args[i], strings);
    result = call(block, count);
  } finally {
    for (const pointer of strings) nativeFree(pointer);
  }
  return decodeResult(metadata, result);
}

function decodeResult(metadata: ArroyoMetadata, result: { tag: number; payload: Uint8Array }): unknown {
  const payload = new DataView(result.payload.buffer, result.payload.byteOffset, result.payload.byteLength);
  const broke = (what: string) =>
    pluginError(`Arroyo plugin ${metadata.name} broke its own metadata: ${what}`, { details: { plugin: metadata.name } });
  if (result.tag === 1) {
    const message = takeString(payload.getBigUint64(0, LITTLE));
    throw pluginError(message ?? '(no message)', { details: { plugin: metadata.name } });
  }
  if (result.tag !== 0) throw broke(`it returned a PluginResult tagged ${result.tag} (neither Ok 0 nor Err 1)`);
  const tag = payload.getInt32(0, LITTLE);
  const type = arroyoTypeOf(tag);
  if (type !== metadata.returnType) {
    // A string of the wrong tag is not freed: a pointer we cannot trust is better leaked.
    throw broke(`it declares the return type ${metadata.returnType} but returned ${type ?? `a value tagged ${tag}`}`);
  }
  switch (type) {
    case 'Bool':
      return payload.getUint8(VALUE_PAYLOAD) !== 0;
    case 'Int':
      return exactInteger(payload.getBigInt64(VALUE_PAYLOAD, LITTLE));
    case 'UInt':
      return exactInteger(payload.getBigUint64(VALUE_PAYLOAD, LITTLE));
    case 'Double':
      return payload.getFloat64(VALUE_PAYLOAD, LITTLE);
    case 'String':
      return takeString(payload.getBigUint64(VALUE_PAYLOAD, LITTLE));
  }
}
