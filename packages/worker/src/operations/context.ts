import type { CallParams } from '@airlock/protocol';
import type { LimitApplier } from '../limits/apply-limits.js';
import type { LoadOptions, LoadedLibrary } from '../loader/library-cache.js';

/** How one ABI makes a function of a loaded library ready to call (once per run of calls): a function of the (decoded) arguments. */
export type AbiCaller = (library: LoadedLibrary, fn: string, params: Omit<CallParams, 'args'>) => (args: unknown) => unknown;

/** What every operation of the worker shares. */
export interface WorkerContext {
  readonly pid: number;
  readonly limits: LimitApplier;
  /** Loads a library (once); tells the limits that the worker's footprint changed. */
  load(library: string, sha256?: string, options?: LoadOptions): LoadedLibrary;
  readonly abis: Record<'c' | 'arroyo' | 'vaccel', AbiCaller>;
}
