import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type ExecResourceParams,
  type RegisterResourceParams,
  type RegisterResourceResult,
  type UnregisterResourceParams,
  decodeValue,
  encodeValue,
} from '@airlock/protocol';
import { callVaccel } from '../abi/vaccel.js';
import { invalidArgument } from '../failure.js';
import type { LoadedLibrary } from '../loader/library-cache.js';
import type { WorkerContext } from './context.js';

/** A vAccel resource: its files under the session's rundir and the library loaded from them. */
interface Resource {
  dir: string;
  library: LoadedLibrary;
}

const resources = new Map<number, Resource>();
let lastId = 0;

/**
 * Persists a resource's files under `<rundir>/resource.<id>/` and loads them: every file but
 * the last is a dependency, loaded first and globally (so the library can resolve its symbols),
 * the last is the library itself (pinned by `sha256` when given).
 */
export function registerResource(context: WorkerContext, params: RegisterResourceParams): RegisterResourceResult {
  const id = ++lastId;
  const dir = join(params.rundir, `resource.${id}`);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  try {
    for (const file of params.files) {
      if ('path' in file) {
        const target = join(dir, basename(file.path));
        copyFileSync(file.path, target);
        files.push(target);
      } else {
        if (file.filename !== basename(file.filename) || file.filename === '..' || file.filename === '.') {
          throw invalidArgument(`A resource file name must be a plain file name, got ${JSON.stringify(file.filename)}`);
        }
        const target = join(dir, file.filename);
        writeFileSync(target, Buffer.from(file.data, 'base64'));
        files.push(target);
      }
    }
    const dependencies = files.slice(0, -1);
    for (const dependency of dependencies) context.load(dependency, undefined, true);
    const library = context.load(files[files.length - 1]!, params.sha256);
    resources.set(id, { dir, library });
    return { id, dir, files };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    if (error instanceof Error && 'code' in error && typeof (error as NodeJS.ErrnoException).code === 'string' && !('data' in error)) {
      throw invalidArgument(`Cannot persist the resource: ${error.message}`);
    }
    throw error;
  }
}

/** Removes a resource's files. Its code stays mapped: only the worker's death unloads it. */
export function unregisterResource(params: UnregisterResourceParams): null {
  const resource = resourceOf(params.id);
  rmSync(resource.dir, { recursive: true, force: true });
  resources.delete(params.id);
  return null;
}

/** vAccel exec of a function of a registered resource's library. */
export function execResource(context: WorkerContext, params: ExecResourceParams): { value: unknown } {
  const resource = resourceOf(params.id);
  context.limits.apply(params.limits);
  // (Its output is flushed and delivered before the answer by the request handler, as for every operation that runs plugin code.)
  return { value: encodeValue(callVaccel(resource.library, params.fn, decodeValue(params.args), params.vaccelLayout ?? 'v0.8')) };
}

function resourceOf(id: number): Resource {
  const resource = resources.get(id);
  if (resource === undefined) throw invalidArgument(`No resource ${id} is registered in this session`);
  return resource;
}
