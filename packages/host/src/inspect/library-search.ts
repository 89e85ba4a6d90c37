import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** Where the dynamic loader looks last, after LD_LIBRARY_PATH and its cache (glibc on x86-64 and arm64 Debian-likes). */
const DEFAULT_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', `/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`];

/** The loader's cache (`ldconfig -p`), read once: name → path, for this machine's architecture. */
let cache: Map<string, string> | undefined;
function loaderCache(): Map<string, string> {
  if (cache !== undefined) return cache;
  cache = new Map();
  const want = process.arch === 'arm64' ? 'AArch64' : 'x86-64';
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    let listing: string;
    try {
      listing = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    } catch {
      continue;
    }
    for (const line of listing.split('\n')) {
      const match = /^\s+(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
      if (match === null || !match[2]!.includes(want)) continue;
      if (!cache.has(match[1]!)) cache.set(match[1]!, match[3]!);
    }
    break;
  }
  return cache;
}

/**
 * The file the dynamic loader would load for `name` in a worker whose LD_LIBRARY_PATH is
 * `ldLibraryPath`, found without loading it: a name with a `/` is a path (relative to `cwd`); a
 * bare name is looked for in LD_LIBRARY_PATH, then the loader's cache, then the default
 * directories. Undefined when none has it. (A library's own RUNPATH does not apply to itself.)
 */
export function findLibrary(name: string, ldLibraryPath: string | undefined, cwd: string): string | undefined {
  if (name.includes('/')) {
    const path = resolve(cwd, name);
    return existsSync(path) ? path : undefined;
  }
  for (const dir of (ldLibraryPath ?? '').split(':')) {
    if (dir !== '' && isAbsolute(dir) && existsSync(join(dir, name))) return join(dir, name);
  }
  const cached = loaderCache().get(name);
  if (cached !== undefined && existsSync(cached)) return cached;
  for (const dir of DEFAULT_DIRS) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}
