import { type CallParams, decodeValue, encodeValue, isPrototype } from '@airlock/protocol';
import { prototypeCaller } from '../abi/c-call.js';
import { callArroyo, readArroyoMetadata } from '../abi/arroyo.js';
import { importsVaccel } from '../abi/vaccel.js';
import { invalidArgument } from '../failure.js';
import { type LoadedLibrary, hasSymbol } from '../loader/library-cache.js';
import type { WorkerContext } from './context.js';

/**
 * Resolves `abi: 'auto'`: a prototype means C, a library exporting plugin_metadata means Arroyo,
 * one importing vAccel's helpers means vAccel.
 */
export function resolveAbi(library: LoadedLibrary, params: Pick<CallParams, 'abi' | 'fn' | 'library'>): 'c' | 'arroyo' | 'vaccel' {
  if (params.abi !== 'auto') return params.abi;
  if (isPrototype(params.fn)) return 'c';
  if (hasSymbol(library, 'plugin_metadata')) return 'arroyo';
  if (importsVaccel(library)) return 'vaccel';
  throw invalidArgument(
    `Cannot tell how to call ${JSON.stringify(params.fn)} in ${JSON.stringify(params.library)}: it is not a C prototype and the library exports no plugin_metadata. ` +
      `Give its C prototype, '<return type> ${params.fn}(<parameter types>)' as the library's header declares it, for abi 'c', or choose abi 'vaccel' for a vAccel exec function.`,
  );
}

/**
 * One call made ready to run with many argument lists (a run): its limits applied, its library
 * loaded (once per worker), its ABI resolved and its function bound. Each use takes wire-encoded
 * arguments and gives the wire-encoded result.
 */
export function prepareCall(context: WorkerContext, params: Omit<CallParams, 'args'>): (wireArgs: unknown) => { value: unknown } {
  // Limits first: a library's constructors are plugin code too.
  context.limits.apply(params.limits);
  const library = context.load(params.library, params.sha256, { inSession: params.inSession === true, shipped: params.shipped === true });
  const invoke = context.abis[resolveAbi(library, params)](library, params.fn, params);
  return (wireArgs) => {
    // The limits are lifted whenever the worker returns to its event loop (between chunks, and
    // between the calls it checks one by one): each call puts them back (a no-op when in force).
    context.limits.apply(params.limits);
    return { value: encodeValue(invoke(decodeValue(wireArgs))) };
  };
}

/** A C prototype call, the always-present ABI. */
export function callC(library: LoadedLibrary, fn: string, pid: number): (args: unknown) => unknown {
  if (!isPrototype(fn)) {
    throw invalidArgument(`abi 'c' needs a C prototype such as 'int ${fn}(int a)', got the bare name ${JSON.stringify(fn)}`);
  }
  return prototypeCaller(library, fn, pid);
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

