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
    const body = JSON.stringify(message);
    const length = Buffer.byteLength(body, 'utf8');
    const frame = Buffer.allocUnsafe(length + 40);
    const headerLength = frame.write(`Content-Length: ${length}\r\n\r\n`, 0, 'latin1');
    frame.write(body, headerLength, 'utf8');
    this.pending.push(frame.subarray(0, headerLength + length));
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
    return Promise.resolve();
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
