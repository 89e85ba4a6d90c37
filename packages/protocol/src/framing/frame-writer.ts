import { writeSync, writevSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import { serializeWithParts } from '../values/wire-bytes.js';

/** Frames written in one turn are joined into one buffer up to this size; past it they go out as a vectored write (big binary parts are never copied). */
const JOIN_MAX_BYTES = 1024 * 1024;

/**
 * Writes `Content-Length`-framed JSON-RPC messages, coalescing every message written in one
 * turn of the event loop into a single write. vscode-jsonrpc's stock writer awaits each write
 * before the next, which costs a pipe round of the event loop per message. Byte strings in a
 * message (WireBytes) follow its JSON as raw binary parts, listed in an `Airlock-Binary` header.
 *
 * Given the descriptor the stream writes to, frames go straight to it with a non-blocking
 * write while the stream holds nothing of its own (the stream's write path, callbacks and
 * ticks cost more than the system call itself); what the kernel does not take goes to the
 * stream, behind which everything else then waits.
 */
export class FrameWriter extends AbstractMessageWriter implements MessageWriter {
  private pending: Buffer[] = [];
  private scheduled = false;
  private closed = false;
  private errors = 0;
  /** Writes handed to the stream whose callback has not come yet. */
  private writesInFlight = 0;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    private readonly stream: Writable,
    /** The descriptor `stream` writes to (a non-blocking pipe or socket, or a file), for direct writes. */
    private readonly fd?: number,
  ) {
    super();
    stream.on('error', (error) => this.fireError(error, undefined, ++this.errors));
    stream.on('close', () => {
      this.closed = true;
      this.wakeDrainWaiters();
      this.fireClose();
    });
  }

  write(message: Message): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The channel is closed'));
    this.pending.push(...frameOf(message));
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return Promise.resolve();
  }

  /**
   * Writes a message now, after anything still pending, instead of at the end of the turn (a
   * worker running calls back to back does not end its turn between them). Says whether every
   * byte written so far has reached the kernel: only then does it survive this process's death.
   */
  writeNow(message: Message): boolean {
    if (this.closed) return false;
    this.pending.push(...frameOf(message));
    this.flush();
    return this.writesInFlight === 0 || this.stream.writableLength === 0;
  }

  /**
   * Resolves once every byte written has reached the kernel (at once if it has). Waits for the
   * writes' own callbacks: the stream emits 'drain' only after a write that went past its
   * high-water mark, so a smaller backlog would never be reported.
   */
  drained(): Promise<void> {
    if (this.closed || this.writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** A write of ours reached the kernel (or failed: the stream reports that itself). */
  private readonly written = (): void => {
    this.writesInFlight -= 1;
    if (this.writesInFlight === 0) this.wakeDrainWaiters();
  };

  private wakeDrainWaiters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    if (this.fd !== undefined && this.writesInFlight === 0) {
      this.writeDirect(frames);
      return;
    }
    if (frames.length === 1) {
      this.send(frames[0]!);
      return;
    }
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    if (bytes <= JOIN_MAX_BYTES) {
      this.send(Buffer.concat(frames, bytes));
      return;
    }
    this.stream.cork();
    for (const frame of frames) this.send(frame);
    this.stream.uncork();
  }

  /** Writes frames to the descriptor at once; what it does not take (a full pipe, an error) goes to the stream. */
  private writeDirect(frames: Buffer[]): void {
    let written = 0;
    try {
      written = frames.length === 1 ? writeSync(this.fd!, frames[0]!) : writevSync(this.fd!, frames);
    } catch {
      // EAGAIN (the pipe is full) or a broken channel: the stream writes it, or reports the error.
    }
    for (const frame of frames) {
      if (written >= frame.length) {
        written -= frame.length;
        continue;
      }
      this.send(written === 0 ? frame : frame.subarray(written));
      written = 0;
    }
  }

  private send(bytes: Buffer): void {
    this.writesInFlight += 1;
    this.stream.write(bytes, this.written);
  }

  end(): void {
    this.flush();
  }
}

/**
 * One message as a frame: `Content-Length: <JSON bytes>`, then `Airlock-Binary: <bytes>,<bytes>…`
 * when it has binary parts, a blank line, the JSON, and the parts back to back. The header and
 * JSON come as one buffer, each part as a view of the caller's bytes.
 */
export function frameOf(message: Message): Buffer[] {
  const { json, parts } = serializeWithParts(() => JSON.stringify(message));
  const length = Buffer.byteLength(json, 'utf8');
  const binary = parts.length === 0 ? '' : `Airlock-Binary: ${parts.map((part) => part.byteLength).join(',')}\r\n`;
  const frame = Buffer.allocUnsafe(length + 40 + binary.length);
  const headerLength = frame.write(`Content-Length: ${length}\r\n${binary}\r\n`, 0, 'latin1');
  frame.write(json, headerLength, 'utf8');
  const head = frame.subarray(0, headerLength + length);
  if (parts.length === 0) return [head];
  return [head, ...parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength))];
}

/** Bytes a message takes as a frame (its header, JSON and binary parts). */
export function frameBytes(message: unknown): number {
  const { json, parts } = serializeWithParts(() => JSON.stringify(message));
  let bytes = Buffer.byteLength(json, 'utf8') + 64;
  for (const part of parts) bytes += part.byteLength + 12;
  return bytes;
}
