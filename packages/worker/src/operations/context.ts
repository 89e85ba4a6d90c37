import type { CallParams } from '@airlock/protocol';
import type { LimitApplier } from '../limits/apply-limits.js';
import type { LoadedLibrary } from '../loader/library-cache.js';

/** How one ABI calls a function of a loaded library. */
export type AbiCaller = (library: LoadedLibrary, fn: string, args: unknown, params: CallParams) => unknown;

/** What every operation of the worker shares. */
export interface WorkerContext {
  readonly pid: number;
  readonly limits: LimitApplier;
  /** Loads a library (once); tells the limits that the worker's footprint changed. */
  load(library: string, sha256?: string, global?: boolean): LoadedLibrary;
  readonly abis: Record<'c' | 'arroyo' | 'vaccel', AbiCaller>;
}
