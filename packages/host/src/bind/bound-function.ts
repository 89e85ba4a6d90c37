import { isPrototype, isVaccelArgumentsShape } from '@airlock/protocol';
import type { CallManyOptions, CallOptions } from '../options/host-options.js';

/** Any function `bind` can stand for: arguments in (whatever its prototype says), a promise of the result out. */
export type AnyAsyncFunction = (...args: any[]) => Promise<unknown>;

/**
 * A function of a library bound once (`host.bind`): call it like the C function, with the
 * arguments of its prototype; `.many(argsList)` runs a batch through `callMany`.
 */
export interface BoundFunction<F extends AnyAsyncFunction> {
  (...args: Parameters<F>): ReturnType<F>;
  /** One call per argument list, settled like `Promise.allSettled` (see `host.callMany`). */
  many(argsList: ReadonlyArray<Parameters<F>>, options?: CallManyOptions): Promise<Array<PromiseSettledResult<Awaited<ReturnType<F>>>>>;
  /** The library it calls, as given to `bind`. */
  readonly library: string;
  /** The prototype or name it was bound with. */
  readonly fn: string;
}

/** What a bound function needs of its host. */
export interface BindTarget {
  call(library: string, fn: string, args: unknown, options?: CallOptions): Promise<unknown>;
  callMany(library: string, fn: string, argsList: readonly unknown[], options?: CallManyOptions): Promise<Array<PromiseSettledResult<unknown>>>;
}

/**
 * Makes the bound function. A C prototype's arguments are its parameters; a vAccel function
 * (`abi: 'vaccel'`, or a name called with one `{ read, write }` object) takes that one object.
 */
export function bindFunction<F extends AnyAsyncFunction>(host: BindTarget, library: string, fn: string, options: CallOptions = {}): BoundFunction<F> {
  const vaccel = options.abi === 'vaccel';
  const prototype = isPrototype(fn);
  const argumentsOf = (args: readonly unknown[]): unknown => (vaccel || (!prototype && args.length === 1 && isVaccelArgumentsShape(args[0])) ? args[0] : args);
  const { signal: _signal, ...batchOptions } = options;
  const bound = ((...args: unknown[]) => host.call(library, fn, argumentsOf(args), options)) as unknown as BoundFunction<F>;
  const many = (argsList: ReadonlyArray<readonly unknown[]>, more: CallManyOptions = {}) =>
    host.callMany(library, fn, Array.from(argsList, argumentsOf), { ...(batchOptions as CallManyOptions), ...more });
  Object.defineProperties(bound, {
    many: { value: many },
    library: { value: library, enumerable: true },
    fn: { value: fn, enumerable: true },
  });
  return bound;
}

