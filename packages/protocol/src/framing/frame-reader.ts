import type { Readable } from 'node:stream';
import { AbstractMessageReader, type DataCallback, Disposable, type Message } from 'vscode-jsonrpc/node';
import { attachParts } from '../values/wire-bytes.js';

import { DEFAULT_MAX_FRAME_BYTES } from './frame-limit.js';

export { DEFAULT_MAX_FRAME_BYTES } from './frame-limit.js';

/** Largest header block accepted before the blank line that ends it. */
const MAX_HEADER_BYTES = 8 * 1024;
/** Most binary parts one frame may list. */
const MAX_BINARY_PARTS = 4096;
/**
 * Frames of this many bytes or more are read straight into a buffer of their size as the data
 * arrives, instead of being joined once whole: the copy overlaps the transfer.
 */
const DIRECT_BODY_BYTES = 1024 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** Raised through `onError` when the peer breaks the framing; the reader stops after it. */
export class FramingError extends Error {
  override name = 'FramingError';
}

/**
 * Reads `Content-Length`-framed JSON-RPC messages from a stream. Unlike vscode-jsonrpc's stock
 * reader it refuses frames over a maximum before allocating them, reports malformed headers and
 * JSON as errors instead of logging them, and stops at the first violation (a stream that
 * breaks the framing never resynchronises).
 */
export class FrameReader extends AbstractMessageReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read (its JSON, then its binary parts), or -1 while reading a header. */
  private bodyLength = -1;
  /** Bytes of the JSON and of each binary part of the frame being read. */
  private jsonLength = 0;
  private partLengths: number[] = [];
  /** The body of a big frame being read straight into place (see DIRECT_BODY_BYTES), and how much of it arrived. */
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private callback: DataCallback | undefined;
  /** Takes the hot path's messages before vscode-jsonrpc sees them (see `intercept`). */
  private interceptor: ((message: Message) => boolean) | undefined;
  private failed = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastDataAt = 0;

  /**
   * `stallMs`: a frame begun and not finished for this long is an error (a peer that wrote half a
   * frame and went quiet would otherwise hold the reader, and whoever waits on it, forever).
   * Default: no limit.
   */
  constructor(
    private readonly stream: Readable,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    private readonly stallMs?: number,
  ) {
    super();
  }

  /**
   * Hands every message to `take` first, synchronously and in order; those it returns true for
   * never reach vscode-jsonrpc, which dispatches one message per event-loop turn.
   */
  intercept(take: (message: Message) => boolean): void {
    this.interceptor = take;
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer) => this.onData(chunk);
    const onEnd = () => this.fireClose();
    const onError = (error: Error) => this.fireError(error);
    this.stream.on('data', onData);
    this.stream.on('end', onEnd);
    this.stream.on('close', onEnd);
    this.stream.on('error', onError);
    return Disposable.create(() => {
      this.stream.off('data', onData);
      this.stream.off('end', onEnd);
      this.stream.off('close', onEnd);
      this.stream.off('error', onError);
      this.callback = undefined;
      clearTimeout(this.stallTimer);
    });
  }

  /** Arms (or disarms) the stall timer after data: armed only while a frame is incomplete. */
  private watchStall(): void {
    if (this.stallMs === undefined) return;
    if (!this.incomplete() || this.failed) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      return;
    }
    this.lastDataAt = performance.now();
    if (this.stallTimer !== undefined) return;
    const stallMs = this.stallMs;
    const check = () => {
      // Timers run before the loop polls for I/O: give data that is already waiting one poll
      // before deciding (an event loop that was busy for a while is not a stalled peer).
      setImmediate(() => {
        if (this.failed || !this.incomplete()) return;
        const quiet = performance.now() - this.lastDataAt;
        if (quiet < stallMs) {
          this.stallTimer = setTimeout(check, stallMs - quiet);
          this.stallTimer.unref();
          return;
        }
        this.failed = true;
        const arrived = this.buffered + this.bodyFilled;
        this.fireError(new FramingError(`A frame was begun and not finished: ${arrived} bytes of it arrived, then nothing for ${stallMs} ms: ${preview(this.body ?? this.join())}`));
      });
    };
    this.stallTimer = setTimeout(check, stallMs);
    this.stallTimer.unref();
  }

  /** Whether part of a frame has arrived and the rest has not. */
  private incomplete(): boolean {
    return this.buffered > 0 || this.body !== undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.take(chunk);
      while (this.next());
    } catch (error) {
      this.failed = true;
      this.chunks.length = 0;
      this.buffered = 0;
      this.body = undefined;
      this.fireError(error);
    }
    if (this.stallMs !== undefined) this.watchStall();
  }

  /** Takes one header or body off the buffer if it is complete; says whether to go on. */
  private next(): boolean {
    if (this.body !== undefined) return false;
    if (this.bodyLength < 0) {
      const joined = this.join();
      const end = joined.indexOf(HEADER_END);
      if (end < 0) {
        if (joined.length > MAX_HEADER_BYTES) throw new FramingError(`No end of header after ${joined.length} bytes: ${preview(joined)}`);
        return false;
      }
      const header = parseHeader(joined.subarray(0, end).toString('latin1'), this.maxFrameBytes);
      this.jsonLength = header.jsonLength;
      this.partLengths = header.partLengths;
      this.bodyLength = header.bodyLength;
      this.consume(end + HEADER_END.length);
      if (this.bodyLength >= DIRECT_BODY_BYTES) {
        // What arrived of the body so far goes into place; the rest will follow it there.
        this.body = Buffer.allocUnsafe(this.bodyLength);
        this.bodyFilled = 0;
        const arrived = this.join();
        this.chunks.length = 0;
        this.buffered = 0;
        this.take(arrived);
      }
      return true;
    }
    if (this.buffered < this.bodyLength) return false;
    const joined = this.join();
    const length = this.bodyLength;
    this.consume(length);
    this.deliver(joined.subarray(0, length));
    return !this.failed && this.buffered > 0;
  }

  /** Takes arrived bytes: into the big body being read, if there is one, and what is left (or all of them) into the buffer. */
  private take(chunk: Buffer): void {
    const rest = this.body === undefined ? chunk : this.fill(chunk);
    if (rest.length === 0) return;
    this.chunks.push(rest);
    this.buffered += rest.length;
  }

  /** Copies what belongs to the big body being read into place; returns the rest of `chunk`. Delivers the frame once its body is whole. */
  private fill(chunk: Buffer): Buffer {
    const body = this.body as Buffer;
    const take = Math.min(chunk.length, body.length - this.bodyFilled);
    chunk.copy(body, this.bodyFilled, 0, take);
    this.bodyFilled += take;
    if (this.bodyFilled === body.length) {
      this.body = undefined;
      this.bodyFilled = 0;
      this.deliver(body);
    }
    return chunk.subarray(take);
  }

  /** Parses one whole frame body (its JSON, then its binary parts) and hands the message on. */
  private deliver(frame: Buffer): void {
    this.bodyLength = -1;
    const body = frame.toString('utf8', 0, this.jsonLength);
    // Binary parts are views of the frame's buffer, which nothing reuses: no copy.
    const parts: Buffer[] = [];
    for (let at = this.jsonLength, index = 0; index < this.partLengths.length; index += 1) {
      const length = this.partLengths[index] as number;
      parts.push(frame.subarray(at, at + length));
      at += length;
    }
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch (error) {
      throw new FramingError(`Malformed JSON in a frame (${(error as Error).message}): ${preview(Buffer.from(body))}`);
    }
    if (typeof message !== 'object' || message === null || (message as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      throw new FramingError(`A frame is not a JSON-RPC 2.0 message: ${preview(Buffer.from(body))}`);
    }
    if (parts.length > 0) {
      try {
        attachParts(message, parts);
      } catch (error) {
        throw new FramingError(`${(error as Error).message}: ${preview(Buffer.from(body))}`);
      }
    }
    if (this.interceptor?.(message as Message) !== true) this.callback?.(message as Message);
  }

  private join(): Buffer {
    if (this.chunks.length > 1) {
      const joined = Buffer.concat(this.chunks, this.buffered);
      this.chunks.length = 0;
      this.chunks.push(joined);
    }
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(bytes: number): void {
    const joined = this.join();
    this.chunks.length = 0;
    this.buffered -= bytes;
    if (this.buffered > 0) this.chunks.push(joined.subarray(bytes));
  }
}

/** Parses a header block: the JSON's length, the binary parts' lengths, and the whole body's. */
function parseHeader(block: string, maxFrameBytes: number): { jsonLength: number; partLengths: number[]; bodyLength: number } {
  let length: number | undefined;
  let partLengths: number[] = [];
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new FramingError(`Malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new FramingError(`Bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      length = Number(value);
    } else if (name === 'airlock-binary') {
      if (!/^\d{1,15}(,\d{1,15})*$/.test(value)) throw new FramingError(`Bad Airlock-Binary ${JSON.stringify(value.slice(0, 40))}: expected byte counts separated by commas`);
      partLengths = value.split(',').map(Number);
      if (partLengths.length > MAX_BINARY_PARTS) throw new FramingError(`A frame lists ${partLengths.length} binary parts, over the maximum of ${MAX_BINARY_PARTS}`);
    }
  }
  if (length === undefined) throw new FramingError(`Header without Content-Length: ${JSON.stringify(block.slice(0, 120))}`);
  const bodyLength = partLengths.reduce((sum, part) => sum + part, length);
  if (bodyLength > maxFrameBytes) throw new FramingError(`Frame of ${bodyLength} bytes is over the maximum of ${maxFrameBytes} bytes`);
  return { jsonLength: length, partLengths, bodyLength };
}

function preview(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 60).toString('latin1')) + (bytes.length > 60 ? '…' : '');
}
