import { type CallParams, decodeValue, encodeValue, isPrototype } from '@airlock/protocol';
import { callPrototype } from '../abi/c-call.js';
import { callArroyo, readArroyoMetadata } from '../abi/arroyo.js';
import { invalidArgument } from '../failure.js';
import { type LoadedLibrary, hasSymbol } from '../loader/library-cache.js';
import { fflush } from '../native/libc.js';
import type { WorkerContext } from './context.js';

/** Resolves `abi: 'auto'`: a prototype means C, a library exporting plugin_metadata means Arroyo. */
export function resolveAbi(library: LoadedLibrary, params: Pick<CallParams, 'abi' | 'fn' | 'library'>): 'c' | 'arroyo' | 'vaccel' {
  if (params.abi !== 'auto') return params.abi;
  if (isPrototype(params.fn)) return 'c';
  if (hasSymbol(library, 'plugin_metadata')) return 'arroyo';
  throw invalidArgument(
    `Cannot tell how to call ${JSON.stringify(params.fn)} in ${JSON.stringify(params.library)}: it is not a C prototype and the library exports no plugin_metadata. ` +
      `Give a prototype such as 'int ${params.fn}(int)' for abi 'c', or choose abi 'vaccel' for a vAccel exec function.`,
  );
}

/** The `airlock/call` operation: load (once), apply limits, call, encode the result. */
export function runCall(context: WorkerContext, params: CallParams): { value: unknown } {
  const args = decodeValue(params.args);
  // Limits first: a library's constructors are plugin code too.
  context.limits.apply(params.limits);
  const library = context.load(params.library, params.sha256);
  const abi = resolveAbi(library, params);
  let value: unknown;
  try {
    value = context.abis[abi](library, params.fn, args, params);
  } finally {
    fflush(null);
  }
  return { value: encodeValue(value) };
}

/** A C prototype call, the always-present ABI. */
export function callC(library: LoadedLibrary, fn: string, args: unknown, pid: number): unknown {
  if (!isPrototype(fn)) {
    throw invalidArgument(`abi 'c' needs a C prototype such as 'int ${fn}(int a)', got the bare name ${JSON.stringify(fn)}`);
  }
  return callPrototype(library, fn, args, pid);
}

/** An Arroyo plugin call: `fn` must be the plugin's own name (from its metadata). */
export function callArroyoPlugin(library: LoadedLibrary, fn: string, args: unknown): unknown {
  const metadata = readArroyoMetadata(library);
  if (fn !== metadata.name) {
    throw invalidArgument(`${JSON.stringify(library.request)} is the Arroyo plugin ${JSON.stringify(metadata.name)}, not ${JSON.stringify(fn)}`);
  }
  if (!Array.isArray(args)) throw invalidArgument(`Arguments of an Arroyo plugin must be an array, got ${typeof args}`);
  return callArroyo(library, args);
}

