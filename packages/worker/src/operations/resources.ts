import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** A vAccel resource: the directory of the files persisted for it and the library loaded from them. */
interface Resource {
  dir: string;
  library: LoadedLibrary;
}

/**
 * The directory of the session on its worker's loader search path (`<rundir>/lib`, put on
 * LD_LIBRARY_PATH by the host when it started the worker): a dependency a library names by its
 * file name, with no SONAME to be matched by, is found there.
 */
export function sessionLibraryDir(rundir: string): string {
  return join(rundir, 'lib');
}

const resources = new Map<number, Resource>();
let lastId = 0;

/**
 * Registers a resource and loads it, as vAccel does: a local path is used where it is (so a
 * library's `RUNPATH $ORIGIN/...` finds what lies beside it); only files given as bytes are
 * persisted, under `<rundir>/resource.<id>/`. Every file but the last is a dependency, loaded
 * first and globally, and linked by its file name into the session's library directory (so a
 * library linked against a dependency without SONAME finds it); the last is the library itself
 * (pinned by `sha256` when given). A library that does not load with its symbols bound now is
 * loaded again with lazy binding, as vAccel's exec plugin does.
 */
export function registerResource(context: WorkerContext, params: RegisterResourceParams): RegisterResourceResult {
  const id = ++lastId;
  const dir = join(params.rundir, `resource.${id}`);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  try {
    for (const file of params.files) {
      if ('path' in file) {
        files.push(file.path);
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
    const libraryDir = sessionLibraryDir(params.rundir);
    for (const dependency of dependencies) {
      context.load(dependency, undefined, { global: true, lazyRetry: true, inSession: true });
      if (existsSync(libraryDir)) linkByName(libraryDir, dependency);
    }
    const library = context.load(files[files.length - 1]!, params.sha256, { lazyRetry: dependencies.length > 0, inSession: true });
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
  return { value: encodeValue(callVaccel(resource.library, params.fn, decodeValue(params.args), params.vaccelLayout ?? 'auto')) };
}

/** Links `file` into `dir` by its file name, replacing a link a resource made before (atomically). */
function linkByName(dir: string, file: string): void {
  const link = join(dir, basename(file));
  const temporary = `${link}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  symlinkSync(file, temporary);
  renameSync(temporary, link);
}

function resourceOf(id: number): Resource {
  const resource = resources.get(id);
  if (resource === undefined) throw invalidArgument(`No resource ${id} is registered in this session`);
  return resource;
}
