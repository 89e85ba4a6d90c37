import { F_DUPFD_CLOEXEC, fcntl3, loadedFilePath } from '../native/libc.js';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';
import { WorkerFailure, invalidArgument, loadError } from '../failure.js';
import { FileChanges } from './file-changes.js';
import { hashDescriptor, shippedPath } from '../operations/ship.js';

/** A library loaded for the worker's lifetime, with what was learned about it. */
export interface LoadedLibrary {
  /** The path or name it was asked for. */
  readonly request: string;
  /** The file the loader loaded (a bare name resolved), when the loader says. */
  readonly path: string | undefined;
  /** The file's identity when it was loaded (device, inode, size, mtime); undefined for a pinned file, which is held open. */
  readonly identity: string | undefined;
  /** The FileChanges count at which the file was last found unchanged (0: look at every use, it is not watched). */
  checkedAt: number;
  readonly handle: LibraryHandle;
  /** koffi functions already built for this library, by prototype or symbol. */
  readonly functions: Map<string, unknown>;
  /** Per-ABI state computed on first use (metadata, entrypoints …). */
  readonly abiState: Map<string, unknown>;
}

const libraries = new Map<string, LoadedLibrary>();
const changes = new FileChanges();
/** Descriptors of libraries loaded through a pinned hash; kept open so the inode stays the one hashed. */
const pinnedFds: number[] = [];

/**
 * Loads a library once and keeps it for the worker's lifetime: unloading a library whose code
 * may still be referenced crashes, so a worker only forgets libraries by dying.
 * With `sha256`, the file is opened once, hashed through that descriptor and loaded through
 * `/proc/self/fd/N`, so the bytes hashed are the bytes mapped.
 */
/** How to load a library. */
export interface LoadOptions {
  /** Its symbols are seen by libraries loaded after it (RTLD_GLOBAL): a resource's dependencies. */
  global?: boolean;
  /** When it does not load with every symbol bound now (RTLD_NOW), try lazy binding (RTLD_LAZY), as vAccel's exec plugin does for resources. */
  lazyRetry?: boolean;
  /** For a session (whose worker is never replaced): a library whose file changed is LOAD_ERROR, not a retirement. */
  inSession?: boolean;
  /** The host shipped it: the content `sha256` names is loaded from the shipped-library cache, and `request` is the host's path. */
  shipped?: boolean;
}

export function loadLibrary(request: string, options: LoadOptions & { sha256?: string | undefined } = {}): LoadedLibrary {
  const key = options.sha256 === undefined ? request : `${request}\0${options.sha256.toLowerCase()}${options.shipped === true ? '\0shipped' : ''}`;
  const known = libraries.get(key);
  if (known !== undefined) {
    if (known.identity !== undefined) {
      const count = changes.current();
      if (known.checkedAt !== count) {
        if (fileIdentity(known.path!) !== known.identity) throw changedOnDisk(known, options.inSession === true);
        if (known.checkedAt !== 0) known.checkedAt = count;
      }
    }
    return known;
  }
  let target = request;
  if (options.sha256 !== undefined) target = options.shipped === true ? openShipped(request, options.sha256) : openPinned(request, options.sha256);
  else if (options.shipped === true) throw invalidArgument(`A shipped library is named by its sha256, which the call of ${JSON.stringify(request)} lacks`);
  let handle: LibraryHandle;
  try {
    handle = loadHandle(target, options);
  } catch (error) {
    const message = (error as Error).message;
    throw loadError(`Cannot load library ${JSON.stringify(request)}: ${message}${loadHint(request, message)}`, {
      details: { library: request, loader: message },
    });
  }
  const path = options.sha256 === undefined ? (loadedFilePath(request) ?? (request.includes('/') ? request : undefined)) : target;
  // A pinned file is held open (its bytes are the ones hashed); any other is watched, then
  // stat'ed: a change after the stat is an event, one before it a different identity.
  const tracked = options.sha256 === undefined && path !== undefined;
  const watched = tracked && changes.watch(path);
  const identity = tracked ? fileIdentity(path) : undefined;
  const loaded: LoadedLibrary = { request, path, identity, checkedAt: 0, handle, functions: new Map(), abiState: new Map() };
  if (watched) loaded.checkedAt = changes.current();
  libraries.set(key, loaded);
  return loaded;
}

/** dlopen through koffi; RTLD_NOW first, then RTLD_LAZY when asked and only a symbol was missing. */
function loadHandle(target: string, options: LoadOptions): LibraryHandle {
  const global = options.global === true;
  try {
    return koffi.load(target, { global });
  } catch (error) {
    if (options.lazyRetry !== true || !/undefined symbol/.test((error as Error).message)) throw error;
    return koffi.load(target, { global, lazy: true });
  }
}

/** What tells a rebuilt file from the one loaded: device, inode, size and modification time ('gone' once removed). */
function fileIdentity(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false, bigint: true });
  return stat === undefined ? 'gone' : `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

/**
 * A library whose file changed since this worker loaded it: the worker cannot unload it (code
 * of it may still run), so it retires and the host runs the call, which never started, on a
 * fresh worker that loads the file as it is now.
 */
function changedOnDisk(library: LoadedLibrary, inSession: boolean): WorkerFailure {
  const what = `Library ${JSON.stringify(library.request)} (${library.path}) changed on disk since this worker loaded it`;
  if (inSession) {
    // A session's worker holds the session's state: it is not replaced, and it cannot unload the old code.
    return loadError(`${what}, and a session's worker keeps what it loaded: open a new session to load it afresh`, {
      details: { library: library.request, path: library.path, changed: true },
    });
  }
  return new WorkerFailure('UNAVAILABLE', `${what}: a fresh worker loads it`, { details: { notStarted: true, library: library.request, path: library.path } });
}

/** Whether a library exports a symbol (without building a function for it). */
export function hasSymbol(library: LoadedLibrary, name: string): boolean {
  try {
    library.handle.symbol(name);
    return true;
  } catch {
    return false;
  }
}

/** Builds (once) a koffi function of a library; a missing symbol is a LOAD_ERROR naming it. */
export function libraryFunction<T>(library: LoadedLibrary, key: string, build: (handle: LibraryHandle) => T): T {
  const known = library.functions.get(key);
  if (known !== undefined) return known as T;
  let fn: T;
  try {
    fn = build(library.handle);
  } catch (error) {
    const message = (error as Error).message;
    if (/cannot find|symbol/i.test(message)) {
      throw loadError(`Library ${JSON.stringify(library.request)} has no symbol for ${JSON.stringify(key)}: ${message}`, {
        details: { library: library.request, symbol: key, loader: message },
      });
    }
    throw invalidArgument(`Cannot call ${JSON.stringify(key)}: ${message}`);
  }
  library.functions.set(key, fn);
  return fn;
}

/** Lowest number a pinned library's descriptor is moved to. */
const PINNED_FD_FLOOR = 512;

function openPinned(request: string, expected: string): string {
  if (!request.includes('/')) {
    throw invalidArgument(`sha256 pins a file, so the library must be given by path, got ${JSON.stringify(request)}`);
  }
  return holdHashed(request, request, expected);
}

/** The shipped content `expected` names, from the cache: a missing or altered file is a LOAD_ERROR saying to ship it again. */
function openShipped(request: string, expected: string): string {
  const path = shippedPath(expected);
  if (!existsSync(path)) {
    throw loadError(`Library ${JSON.stringify(request)} (sha256 ${expected.toLowerCase()}) is not in this worker's shipped-library cache: the host ships it before the call`, {
      details: { library: request, sha256: expected.toLowerCase(), shipped: false },
    });
  }
  return holdHashed(path, request, expected);
}

/**
 * Opens `file`, hashes it through that descriptor and keeps it open: the bytes hashed are the
 * bytes the loader maps (through `/proc/self/fd/N`). `request` names it in errors.
 */
function holdHashed(file: string, request: string, expected: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw loadError(`Cannot open library ${JSON.stringify(request)}: ${(error as Error).message}`, { details: { library: request } });
  }
  // node:crypto is loaded here, when a library is pinned, not at the worker's start (it is 4 ms of it).
  const actual = hashDescriptor(fd);
  if (actual !== expected.toLowerCase()) {
    closeSync(fd);
    throw loadError(`Checksum mismatch for ${JSON.stringify(request)}: expected sha256 ${expected.toLowerCase()}, file has ${actual}`, {
      details: { library: request, expected: expected.toLowerCase(), actual },
    });
  }
  // Kept open for the library's lifetime, far above the descriptors calls use: the lowest free
  // descriptor stays where it was (the worker's hygiene check watches it).
  const high = fcntl3(fd, F_DUPFD_CLOEXEC, PINNED_FD_FLOOR) as number;
  if (high >= 0) {
    closeSync(fd);
    fd = high;
  }
  pinnedFds.push(fd);
  return `/proc/self/fd/${fd}`;
}

/**
 * What to do about a library that did not load, where the loader's word alone misleads: a
 * dependency not found in a worker that starts from a clean environment, a bare name meant as
 * the file of that name here.
 */
function loadHint(request: string, message: string): string {
  if (!/cannot open shared object file/.test(message)) return '';
  // The loader names a dependency it did not find; koffi leaves the name out for the library itself.
  const missing = /([^\s:]*\.so[^\s:]*): cannot open shared object file/.exec(message)?.[1];
  if (!request.includes('/') && (missing === undefined || missing === request) && existsSync(request)) {
    return ` (a bare name is searched by the loader, not in the working directory: give the file as ./${request})`;
  }
  return ' (the worker starts from a clean environment: only LD_LIBRARY_PATH and what the host passes with env and passEnv, plugin-run --env and --pass-env, reach it)';
}
