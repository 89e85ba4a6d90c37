import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { RESULT_LOG_BYTES, RESULT_LOG_NAME } from '@airlock/protocol';
import koffi from 'koffi';
import { MAP_SHARED, PROT_READ_WRITE, mmap } from '../native/libc.js';

/** Bytes at the start of the log that hold the length committed so far (a little-endian u64). */
const HEADER_BYTES = 8;

/**
 * Outcomes of calls that ran but whose results are not yet on the channel, kept in a file the
 * host reads if this worker dies. A run of many calls sends its results in chunks (a write per
 * call would cost more than the call); what a crash would otherwise lose, the page cache keeps:
 * the file is mapped shared, so each append is a memory write, not a syscall.
 *
 * Each entry is one line of JSON, `[seq, value]` or `[seq, null, error]`; the length in the
 * header is written after the entry, so the host never reads half of one.
 */
export class ResultLog {
  private readonly view: Buffer;
  private committed = HEADER_BYTES;

  private constructor(view: Buffer) {
    this.view = view;
    this.commit();
  }

  /** Opens the log in `dir` (the worker's temp dir, which its host reads); undefined if that fails. */
  static open(dir: string | undefined): ResultLog | undefined {
    if (dir === undefined) return undefined;
    try {
      const fd = openSync(join(dir, RESULT_LOG_NAME), 'w+', 0o600);
      try {
        ftruncateSync(fd, RESULT_LOG_BYTES);
        const address = mmap(null, RESULT_LOG_BYTES, PROT_READ_WRITE, MAP_SHARED, fd, 0);
        if (address === null || koffi.address(address) === 0xffffffffffffffffn) return undefined;
        return new ResultLog(Buffer.from(koffi.view(address, RESULT_LOG_BYTES)));
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** Appends one outcome; false when it does not fit (send what is logged, reset, then retry). */
  append(entry: string): boolean {
    const room = this.view.length - this.committed - 1;
    if (entry.length * 3 > room && Buffer.byteLength(entry, 'utf8') > room) return false;
    const written = this.view.write(entry, this.committed, 'utf8');
    this.view[this.committed + written] = 0x0a;
    this.committed += written + 1;
    this.commit();
    return true;
  }

  /** Whether nothing is logged. */
  get empty(): boolean {
    return this.committed === HEADER_BYTES;
  }

  /** Forgets what is logged (it reached the channel). */
  reset(): void {
    this.committed = HEADER_BYTES;
    this.commit();
  }

  private commit(): void {
    this.view.writeUInt32LE(this.committed, 0);
    this.view.writeUInt32LE(0, 4);
  }
}
