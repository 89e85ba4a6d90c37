import type { InspectParams, InspectResult } from '@airlock/protocol';
import { hasSymbol } from '../loader/library-cache.js';
import { readArroyoMetadata } from '../abi/arroyo.js';
import { importsVaccel, vaccelLayoutOf } from '../abi/vaccel.js';
import type { WorkerContext } from './context.js';

/**
 * The `airlock/inspect` operation: load the library and say which ABI it speaks and which file
 * the loader loaded. Arroyo: it exports plugin_metadata. vAccel: it imports vAccel's symbols
 * (and then which layout of `struct vaccel_arg` it gets, and why).
 */
export function runInspect(context: WorkerContext, params: InspectParams): InspectResult {
  const library = context.load(params.library, params.sha256, { shipped: params.shipped === true });
  // A pinned library is loaded through a descriptor of this worker's: the host knows it by its path.
  const path = params.sha256 === undefined ? (library.path ?? params.library) : params.library;
  if (hasSymbol(library, 'plugin_metadata')) return { path, abi: 'arroyo', arroyo: readArroyoMetadata(library) };
  if (!importsVaccel(library)) return { path, abi: 'c' };
  const { layout, reason, helpers } = vaccelLayoutOf(library, 'auto');
  return { path, abi: 'vaccel', vaccel: { layout, reason, helpers: [...helpers] } };
}
