import { FrameReader, FrameWriter, NOTIFICATIONS, WORKER_TO_HOST_METHODS } from '@airlock/protocol';
import type { Readable, Writable } from 'node:stream';
import {
  AbstractMessageReader,
  type DataCallback,
  Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc/node';

/** Raised when a worker breaks the protocol; the host kills that worker. */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

/**
 * The host's side of the channel, checked message by message: only responses to requests the
 * host actually sent (each answered once) and notifications of the methods a worker may send
 * get through. vscode-jsonrpc would merely log an unknown id or a stray request; the host
 * treats each as a broken worker.
 */
export function guardedChannel(input: Readable, output: Writable, maxFrameBytes: number): { reader: MessageReader; writer: MessageWriter } {
  const outstanding = new Set<string | number>();
  const writer = new FrameWriter(output);
  const write = writer.write.bind(writer);
  writer.write = (message: Message) => {
    const request = message as { id?: string | number; method?: string };
    if (request.method !== undefined && request.id !== undefined) outstanding.add(request.id);
    return write(message);
  };
  return { reader: new GuardedReader(new FrameReader(input, maxFrameBytes), outstanding), writer };
}

/** The params schema of each notification a worker may send. */
const NOTIFICATION_PARAMS: ReadonlyMap<string, { safeParse(value: unknown): { success: boolean; error?: { message: string } } }> = new Map(
  Object.values(NOTIFICATIONS).map((notification) => [notification.method, notification.params]),
);

class GuardedReader extends AbstractMessageReader {
  constructor(
    private readonly inner: FrameReader,
    private readonly outstanding: Set<string | number>,
  ) {
    super();
    inner.onError((error) => this.fireError(error));
    inner.onClose(() => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    let broken = false;
    const listening = this.inner.listen((message) => {
      if (broken) return;
      const problem = this.check(message);
      if (problem === undefined) return callback(message);
      broken = true;
      this.fireError(new ProtocolViolation(problem));
    });
    return Disposable.create(() => listening.dispose());
  }

  private check(message: Message): string | undefined {
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
    if (typeof m.method === 'string') {
      if (m.id !== undefined) return `the worker sent a request (${JSON.stringify(m.method)}); workers may only answer`;
      if (!WORKER_TO_HOST_METHODS.has(m.method)) return `unknown notification method ${JSON.stringify(m.method)}`;
      const checked = NOTIFICATION_PARAMS.get(m.method)?.safeParse((m as { params?: unknown }).params);
      if (checked && !checked.success) return `a ${m.method} notification whose params do not match the protocol: ${checked.error?.message.slice(0, 300)}`;
      return undefined;
    }
    if (m.method !== undefined) return `a message with a non-string method ${JSON.stringify(m.method)}`;
    if (!('result' in m) && !('error' in m)) return `a message that is neither a response nor a notification`;
    if (typeof m.id !== 'number' && typeof m.id !== 'string') return `a response without an id (${JSON.stringify(m.error ?? null).slice(0, 200)})`;
    if (!this.outstanding.delete(m.id)) return `a response to id ${JSON.stringify(m.id)}, which is unknown or already answered`;
    return undefined;
  }
}
