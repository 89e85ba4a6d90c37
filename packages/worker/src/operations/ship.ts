// The shipped-library cache of a worker on another machine: content sent by the host, kept by
// its sha256 in $AIRLOCK_SHIPPED_DIR (set by `airlock-worker --remote`; shared by every worker
// it starts). What is in the cache is never trusted for its name: a file is held only when its
// hash, read through the descriptor that will load it, is the one asked for (see the loader).
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShipParams, ShipResult } from '@airlock/protocol';
import { invalidArgument } from '../failure.js';

/** The cache directory, or an error saying this worker has none (it was not started by `airlock-worker --remote`). */
export function shippedDir(): string {
  const dir = process.env.AIRLOCK_SHIPPED_DIR;
  if (!dir) throw invalidArgument('This worker keeps no shipped libraries: only a worker started by `airlock-worker --remote` (a launched group) does');
  return dir;
}

/** Where content of that hash is kept. */
export function shippedPath(sha256: string): string {
  return join(shippedDir(), sha256.toLowerCase());
}

/** The sha256 (hex) of what a descriptor reads, from its start. */
export function hashDescriptor(fd: number): string {
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const size = fstatSync(fd).size;
  for (let offset = 0; offset < size; ) {
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    if (read === 0) break;
    hash.update(buffer.subarray(0, read));
    offset += read;
  }
  return hash.digest('hex');
}

/** Whether the cache holds exactly this content; a file of that name with other content is removed. */
function holds(path: string, sha256: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  let actual: string;
  try {
    actual = hashDescriptor(fd);
  } finally {
    closeSync(fd);
  }
  if (actual === sha256) return true;
  rmSync(path, { force: true });
  return false;
}

/** `airlock/ship`: answers whether the content is cached, storing it first when it is sent. */
export function ship(params: ShipParams): ShipResult {
  const sha256 = params.sha256.toLowerCase();
  const path = shippedPath(sha256);
  if (params.bytes === undefined) return { present: holds(path, sha256) };
  const bytes = Buffer.from(params.bytes, 'base64');
  const actual = process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw invalidArgument(`The shipped bytes (${bytes.length}) have sha256 ${actual}, not ${sha256} as announced`);
  mkdirSync(shippedDir(), { recursive: true, mode: 0o700 });
  // Written aside and renamed into place: a worker loading this content never sees it half written.
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, bytes, { mode: 0o500 });
  renameSync(partial, path);
  return { present: true };
}
