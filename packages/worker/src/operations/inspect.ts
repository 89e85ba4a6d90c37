import type { InspectParams, InspectResult } from '@airlock/protocol';
import { hasSymbol } from '../loader/library-cache.js';
import { readArroyoMetadata } from '../abi/arroyo.js';
import type { WorkerContext } from './context.js';

/** The `airlock/inspect` operation: load the library and say which ABI it speaks. */
export function runInspect(context: WorkerContext, params: InspectParams): InspectResult {
  const library = context.load(params.library, params.sha256);
  if (!hasSymbol(library, 'plugin_metadata')) return { path: params.library, abi: 'c' };
  return { path: params.library, abi: 'arroyo', arroyo: readArroyoMetadata(library) };
}
