// Shipping: a launched worker gets a library's content from the host, by its sha256, instead of
// depending on a file at the same path on its machine (see the protocol's ShipParams).
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AirlockError } from '../errors/airlock-error.js';
import type { CallInfo } from '../worker/call-types.js';
import type { WorkerProcess } from '../worker/worker-process.js';

/**
 * node:crypto, loaded when a library is first hashed: every host has a shipper, and loading
 * the module costs each process that never ships ~7 ms (plugin-run's start, a cold host).
 */
let crypto: typeof import('node:crypto') | undefined;
function createHash(algorithm: string): import('node:crypto').Hash {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash(algorithm);
}

/** A file's identity: a file changed since it was hashed has another one. */
function identity(path: string): string {
  const stat = statSync(path, { bigint: true });
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

/** Hashes the libraries a host ships (once per version of each file) and sends each launched worker the content it lacks (once per worker). */
export class LibraryShipper {
  private readonly digests = new Map<string, { identity: string; sha256: string }>();
  /** What each worker holds, or is being sent: a content is asked about and sent once per worker. */
  private readonly staged = new WeakMap<WorkerProcess, Map<string, Promise<void>>>();

  /**
   * The sha256 of the file at `path` as it is now. A file that cannot be read, or whose content
   * is not `pinned` (a call's sha256), is LOAD_ERROR naming it.
   */
  digest(path: string, pinned?: string): string {
    if (!path.includes('/')) {
      throw new AirlockError('INVALID_ARGUMENT', `ship sends a file, so the library must be given by path, got ${JSON.stringify(path)} (a bare name is found by the loader of the machine the worker runs on)`);
    }
    let sha256: string;
    try {
      const now = identity(path);
      const known = this.digests.get(path);
      if (known?.identity === now) sha256 = known.sha256;
      else {
        sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
        if (this.digests.size >= 1024) this.digests.clear();
        this.digests.set(path, { identity: now, sha256 });
      }
    } catch (error) {
      throw new AirlockError('LOAD_ERROR', `Cannot read library ${JSON.stringify(path)} to ship it: ${(error as Error).message}`, { details: { library: path } });
    }
    if (pinned !== undefined && pinned.toLowerCase() !== sha256) {
      throw new AirlockError('LOAD_ERROR', `Checksum mismatch for ${JSON.stringify(path)}: expected sha256 ${pinned.toLowerCase()}, file has ${sha256}`, {
        details: { library: path, expected: pinned.toLowerCase(), actual: sha256 },
      });
    }
    return sha256;
  }

  /**
   * Makes sure `worker` holds the content `sha256` of `path`: asks whether its cache has it, and
   * sends it if not. The bytes sent are checked against `sha256` again (the file may have
   * changed since it was hashed): a call never runs content other than the one it named.
   */
  stage(worker: WorkerProcess, path: string, sha256: string, info: Pick<CallInfo, 'limits' | 'signal'>): Promise<void> {
    let held = this.staged.get(worker);
    if (held === undefined) this.staged.set(worker, (held = new Map()));
    const known = held.get(sha256);
    if (known !== undefined) return known;
    const staging = this.send(worker, path, sha256, info);
    held.set(sha256, staging);
    // A failed staging is tried afresh by the next call.
    staging.catch(() => held.delete(sha256));
    return staging;
  }

  private async send(worker: WorkerProcess, path: string, sha256: string, info: Pick<CallInfo, 'limits' | 'signal'>): Promise<void> {
    const asked = { limits: { timeoutMs: info.limits.timeoutMs }, signal: info.signal };
    const { present } = (await worker.request('ship', { sha256 }, { ...asked, operation: `asking for ${path} (sha256 ${sha256})` })) as { present: boolean };
    if (present) return;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new AirlockError('LOAD_ERROR', `Cannot read library ${JSON.stringify(path)} to ship it: ${(error as Error).message}`, { details: { library: path } });
    }
    // The bytes travel as base64 in one frame (a library is sent once per worker and content).
    const frameBytes = Math.ceil(bytes.length / 3) * 4 + 256;
    if (frameBytes > worker.maxFrameBytes) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `Library ${JSON.stringify(path)} (${bytes.length} bytes) takes ${frameBytes} bytes on the channel to ship, over its ${worker.maxFrameBytes}-byte frame limit: raise the host's maxFrameBytes option`,
        { details: { library: path, bytes: bytes.length, maxFrameBytes: worker.maxFrameBytes } },
      );
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new AirlockError('LOAD_ERROR', `Library ${JSON.stringify(path)} changed while it was being shipped: expected sha256 ${sha256}, file has ${actual}`, {
        details: { library: path, expected: sha256, actual },
      });
    }
    await worker.request('ship', { sha256, bytes: bytes.toString('base64') }, { ...asked, operation: `shipping ${path} (${bytes.length} bytes)` });
  }
}
