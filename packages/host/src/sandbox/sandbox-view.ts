import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { WORKER_ENTRY } from '@airlock/worker';
import { readElfExports } from '@airlock/protocol';
import type { SandboxPolicy } from './sandbox-options.js';

/** One entry of a sandboxed worker's file system, at the same path as outside. */
export type Mount = { kind: 'ro' | 'rw'; path: string } | { kind: 'symlink'; path: string; target: string };

/** What a sandboxed worker is spawned with: its network, and what it sees of the file system. */
export interface SandboxSpawn {
  network: boolean;
  mounts: Mount[];
}

/** Top-level directories of the system's programs and libraries: read-only, or the symlinks they are (merged /usr). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/**
 * What of /etc the loader, the C library and shell tools read. Not /etc as a whole: its
 * secrets (shadow, ssh host keys, credentials of services) would be readable by the sandbox's
 * uid where the host runs as root, whose files the sandbox's uid owns inside.
 */
const SYSTEM_ETC = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
];
/** Read only with the host's network: what the resolver needs. */
const NETWORK_ETC = ['/etc/resolv.conf', '/etc/gai.conf'];
/** Libraries found next to a library, as its dependencies, are followed this deep. */
const MAX_DEPENDENCY_FILES = 64;

/**
 * What the workers of one sandboxed host see: the system (read-only), airlock's own runtime
 * (Node, the worker package, koffi), the policy's paths, and every library the host was asked
 * to call with the libraries beside it that it needs (DT_NEEDED). A library is shown by its file,
 * never by its directory: a library in a home directory must not show the home directory.
 * Workers see what was shown when they started; `expose` says when that changed.
 */
export class SandboxView {
  private readonly libraries = new Map<string, string[]>();
  private readonly shown = new Set<string>();
  /** Exposures under way (their ELF headers being read), by library. */
  private readonly exposing = new Map<string, Promise<boolean>>();

  constructor(readonly policy: SandboxPolicy) {}

  /** A view of another policy showing the libraries this one shows (a session's, opened on a sandboxed host). */
  derive(policy: SandboxPolicy): SandboxView {
    const view = new SandboxView(policy);
    for (const [library, files] of this.libraries) {
      view.libraries.set(library, files);
      view.shown.add(library);
    }
    return view;
  }

  /** Whether workers started now can load `library` (a bare name is found by the loader in the system's directories). */
  shows(library: string): boolean {
    return !library.includes('/') || this.shown.has(library) || this.covers(library);
  }

  /**
   * Shows `library` (an absolute path) and what it needs from beside it to workers started from
   * now on. Resolves to true when they see more than workers started before (which must then be
   * replaced to call it); a file that cannot be read is shown as it is, and fails to load inside.
   */
  expose(library: string): Promise<boolean> {
    if (this.shows(library)) return Promise.resolve(false);
    // Calls for one library issued together expose it once: the first says it is new.
    const pending = this.exposing.get(library);
    if (pending !== undefined) return pending.then(() => false);
    const exposing = this.collect(library, [], new Set()).then((files) => {
      this.libraries.set(library, files);
      this.shown.add(library);
      this.exposing.delete(library);
      return true;
    });
    this.exposing.set(library, exposing);
    return exposing;
  }

  /**
   * The mounts of a worker started now. `extra` adds what is that worker's own: a session's
   * rundir, a command's inputs and outputs. Writable paths come last, so that one inside a
   * read-only path is writable.
   */
  spawn(extra: { readable?: string[]; writable?: string[] } = {}): SandboxSpawn {
    const mounts: Mount[] = [...systemMounts(), ...(this.policy.network ? existing(NETWORK_ETC) : []), ...runtimeMounts()];
    for (const files of this.libraries.values()) for (const path of files) mounts.push({ kind: 'ro', path });
    for (const path of [...this.policy.readable, ...(extra.readable ?? [])]) mounts.push({ kind: 'ro', path });
    for (const path of [...this.policy.writable, ...(extra.writable ?? [])]) mounts.push({ kind: 'rw', path });
    return { network: this.policy.network, mounts };
  }

  /** Whether a path lies where every sandboxed worker sees it anyway (the system, the policy's paths). */
  private covers(path: string): boolean {
    const roots = [...this.policy.readable, ...this.policy.writable, '/usr'];
    return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
  }

  /** The library at `path`, then the libraries it needs that lie in its own directory (and theirs); into `files`. */
  private async collect(path: string, files: string[], seen: Set<string>): Promise<string[]> {
    if (seen.has(path) || files.length >= MAX_DEPENDENCY_FILES) return files;
    seen.add(path);
    files.push(path);
    let needed: string[];
    try {
      ({ needed } = await readElfExports(path));
    } catch {
      return files;
    }
    for (const name of needed) {
      if (name.includes('/')) continue;
      const beside = join(dirname(path), name);
      if (existsSync(beside) && !this.covers(beside)) await this.collect(beside, files, seen);
    }
    return files;
  }
}

let system: Mount[] | undefined;

/** The system's directories and what of /etc is shown; read once. */
function systemMounts(): Mount[] {
  if (system !== undefined) return system;
  system = [];
  for (const path of SYSTEM_DIRS) {
    let isLink: boolean;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      continue;
    }
    system.push(isLink ? { kind: 'symlink', path, target: readlinkSync(path) } : { kind: 'ro', path });
  }
  system.push(...existing(SYSTEM_ETC));
  return system;
}

function existing(paths: string[]): Mount[] {
  return paths.filter((path) => existsSync(path)).map((path) => ({ kind: 'ro', path }));
}

let runtime: Mount[] | undefined;

/**
 * What a worker needs to run at all, wherever it is installed: the Node binary, the worker
 * package (its bundle and its compile cache) and koffi (its native module). Read-only: a plugin
 * must not rewrite the code of the workers that come after it.
 */
function runtimeMounts(): Mount[] {
  if (runtime !== undefined) return runtime;
  const workerPackage = dirname(dirname(realpathSync(WORKER_ENTRY)));
  // koffi's entry lies at its package's root (its exports do not list package.json).
  const koffi = dirname(realpathSync(createRequire(WORKER_ENTRY).resolve('koffi')));
  // Its native module comes in a package of its own, beside it (as koffi itself looks for it).
  const native = join(koffi, '..', '@koromix', `koffi-${process.platform}-${process.arch}`);
  const node = realpathSync(process.execPath);
  runtime = [node, workerPackage, koffi, ...(existsSync(native) ? [realpathSync(native)] : [])]
    .filter((path) => !path.startsWith('/usr/'))
    .map((path) => ({ kind: 'ro', path }));
  return runtime;
}
