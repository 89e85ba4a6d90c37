import type { Readable } from 'node:stream';
import { AbstractMessageReader, type DataCallback, Disposable, type Message } from 'vscode-jsonrpc/node';

/** Default largest frame a reader accepts (64 MiB): checked from the header, before allocating. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Largest header block accepted before the blank line that ends it. */
const MAX_HEADER_BYTES = 8 * 1024;
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
  /** Body length of the frame being read, or -1 while reading a header. */
  private bodyLength = -1;
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
    if (this.buffered === 0 || this.failed) {
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
        if (this.failed || this.buffered === 0) return;
        const quiet = performance.now() - this.lastDataAt;
        if (quiet < stallMs) {
          this.stallTimer = setTimeout(check, stallMs - quiet);
          this.stallTimer.unref();
          return;
        }
        this.failed = true;
        this.fireError(new FramingError(`A frame was begun and not finished: ${this.buffered} bytes of it arrived, then nothing for ${stallMs} ms: ${preview(this.join())}`));
      });
    };
    this.stallTimer = setTimeout(check, stallMs);
    this.stallTimer.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      while (this.next());
    } catch (error) {
      this.failed = true;
      this.chunks.length = 0;
      this.buffered = 0;
      this.fireError(error);
    }
    if (this.stallMs !== undefined) this.watchStall();
  }

  /** Takes one header or body off the buffer if it is complete; says whether to go on. */
  private next(): boolean {
    if (this.bodyLength < 0) {
      const joined = this.join();
      const end = joined.indexOf(HEADER_END);
      if (end < 0) {
        if (joined.length > MAX_HEADER_BYTES) throw new FramingError(`No end of header after ${joined.length} bytes: ${preview(joined)}`);
        return false;
      }
      this.bodyLength = parseHeader(joined.subarray(0, end).toString('latin1'), this.maxFrameBytes);
      this.consume(end + HEADER_END.length);
      return true;
    }
    if (this.buffered < this.bodyLength) return false;
    const joined = this.join();
    const body = joined.toString('utf8', 0, this.bodyLength);
    this.consume(this.bodyLength);
    this.bodyLength = -1;
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch (error) {
      throw new FramingError(`Malformed JSON in a frame (${(error as Error).message}): ${preview(Buffer.from(body))}`);
    }
    if (typeof message !== 'object' || message === null || (message as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      throw new FramingError(`A frame is not a JSON-RPC 2.0 message: ${preview(Buffer.from(body))}`);
    }
    if (this.interceptor?.(message as Message) !== true) this.callback?.(message as Message);
    return !this.failed && this.buffered > 0;
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

/** Parses a header block; returns the body length. */
function parseHeader(block: string, maxFrameBytes: number): number {
  let length: number | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new FramingError(`Malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new FramingError(`Bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      length = Number(value);
    }
  }
  if (length === undefined) throw new FramingError(`Header without Content-Length: ${JSON.stringify(block.slice(0, 120))}`);
  if (length > maxFrameBytes) throw new FramingError(`Frame of ${length} bytes is over the maximum of ${maxFrameBytes} bytes`);
  return length;
}

function preview(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 60).toString('latin1')) + (bytes.length > 60 ? '…' : '');
}
