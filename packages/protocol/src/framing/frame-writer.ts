import type { Writable } from 'node:stream';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';

/**
 * Writes `Content-Length`-framed JSON-RPC messages, coalescing every message written in one
 * turn of the event loop into a single write. vscode-jsonrpc's stock writer awaits each write
 * before the next, which costs a pipe round of the event loop per message.
 */
export class FrameWriter extends AbstractMessageWriter implements MessageWriter {
  private pending: Buffer[] = [];
  private scheduled = false;
  private closed = false;
  private errors = 0;

  constructor(private readonly stream: Writable) {
    super();
    stream.on('error', (error) => this.fireError(error, undefined, ++this.errors));
    stream.on('close', () => {
      this.closed = true;
      this.fireClose();
    });
  }

  write(message: Message): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The channel is closed'));
    this.pending.push(frameOf(message));
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
    this.pending.push(frameOf(message));
    this.flush();
    return this.stream.writableLength === 0;
  }

  /** Resolves once every byte written has reached the kernel (at once if it has). */
  drained(): Promise<void> {
    if (this.closed || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.stream.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  end(): void {
    this.flush();
  }
}

/** One message as a `Content-Length` frame. */
function frameOf(message: Message): Buffer {
  const body = JSON.stringify(message);
  const length = Buffer.byteLength(body, 'utf8');
  const frame = Buffer.allocUnsafe(length + 40);
  const headerLength = frame.write(`Content-Length: ${length}\r\n\r\n`, 0, 'latin1');
  frame.write(body, headerLength, 'utf8');
  return frame.subarray(0, headerLength + length);
}
