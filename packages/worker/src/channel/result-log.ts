import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { RESULT_LOG_BYTES, RESULT_LOG_NAME } from '@airlock/protocol';
import koffi from 'koffi';
import { MAP_SHARED, PROT_READ_WRITE, mmap } from '../native/libc.js';

/** Bytes at the start of the log that hold the length committed so far (a little-endian u64). */
const HEADER_BYTES = 8;
/** The longest `[seq,value]\n` of two safe integers. */
export const INTEGER_LINE_MAX_BYTES = 2 * 17 + 4;

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
  /** The header, for the committed length (little-endian, as the host reads it). */
  private readonly header: DataView;
  private committed = HEADER_BYTES;

  private constructor(view: Buffer) {
    this.view = view;
    this.header = new DataView(view.buffer, view.byteOffset, HEADER_BYTES);
    // The log is far smaller than 4 GiB: the high word stays 0, and a commit writes the low one.
    this.header.setUint32(4, 0, true);
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

  /**
   * Appends one outcome; false when it does not fit (send what is logged, reset, then retry).
   * `ascii`: the entry is known to be ASCII (a number's line), written without UTF-8 encoding.
   */
  append(entry: string, ascii = false): boolean {
    const room = this.view.length - this.committed - 1;
    if (ascii ? entry.length > room : entry.length * 3 > room && Buffer.byteLength(entry, 'utf8') > room) return false;
    const written = ascii ? this.view.write(entry, this.committed, 'latin1') : this.view.write(entry, this.committed, 'utf8');
    this.view[this.committed + written] = 0x0a;
    this.committed += written + 1;
    this.commit();
    return true;
  }

  /**
   * Appends `[seq,value]` for an integer value (a safe integer), written byte by byte: the hot
   * path of a run of integer results makes no string. False when it does not fit.
   */
  appendInteger(seq: number, value: number): boolean {
    const view = this.view;
    let at = this.committed;
    if (view.length - at < INTEGER_LINE_MAX_BYTES) return false;
    view[at++] = 0x5b; // [
    at = writeDigits(view, at, seq);
    view[at++] = 0x2c; // ,
    if (value < 0) {
      view[at++] = 0x2d; // -
      at = writeDigits(view, at, -value);
    } else at = writeDigits(view, at, value);
    view[at++] = 0x5d; // ]
    view[at++] = 0x0a;
    this.committed = at;
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
    this.header.setUint32(0, this.committed, true);
  }
}

/** Writes a non-negative safe integer's decimal digits at `at`; returns the offset after them. */
function writeDigits(view: Buffer, at: number, value: number): number {
  if (value < 10) {
    view[at] = 0x30 + value;
    return at + 1;
  }
  let digits = 2;
  for (let bound = 100; value >= bound && digits < 16; bound *= 10) digits += 1;
  let rest = value;
  let index = at + digits - 1;
  // Below 2^31 the digits come by integer division (what most results and every seq are).
  for (; rest > 0x7fffffff; index -= 1) {
    const quotient = Math.floor(rest / 10);
    view[index] = 0x30 + (rest - quotient * 10);
    rest = quotient;
  }
  for (let small = rest | 0; index >= at; index -= 1) {
    const quotient = (small / 10) | 0;
    view[index] = 0x30 + (small - quotient * 10);
    small = quotient;
  }
  return at + digits;
}
