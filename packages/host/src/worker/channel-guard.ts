import { FrameReader, FrameWriter, NOTIFICATIONS, WORKER_TO_HOST_METHODS } from '@airlock/protocol';
import type { Readable, Writable } from 'node:stream';
import {
  AbstractMessageReader,
  type DataCallback,
  Disposable,
  type Message,
  type MessageReader,
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
export function guardedChannel(
  input: Readable,
  output: Writable,
  maxFrameBytes: number,
  /** A second answer to a request already answered: a forged or replayed reply, dropped. */
  onDuplicate: (id: string | number) => void,
  /** Takes the hot path's messages (once checked) before vscode-jsonrpc's dispatch; true when taken. */
  take: (message: Message) => boolean,
): { reader: MessageReader; writer: FrameWriter } {
  const outstanding = new Set<string | number>();
  const writer = new FrameWriter(output);
  const write = writer.write.bind(writer);
  writer.write = (message: Message) => {
    const request = message as { id?: string | number; method?: string };
    if (request.method !== undefined && request.id !== undefined) outstanding.add(request.id);
    return write(message);
  };
  return { reader: new GuardedReader(new FrameReader(input, maxFrameBytes, PARTIAL_FRAME_STALL_MS), outstanding, onDuplicate, take), writer };
}

/** What check() says of a second answer to an answered request. */
const DUPLICATE = Symbol('duplicate answer');

/** The params schema of each notification a worker may send. */
const NOTIFICATION_PARAMS: ReadonlyMap<string, { safeParse(value: unknown): { success: boolean; error?: { message: string } } }> = new Map(
  Object.values(NOTIFICATIONS).map((notification) => [notification.method, notification.params]),
);

/** How long a frame may stay half-written before the worker is a protocol violation. */
export const PARTIAL_FRAME_STALL_MS = 2000;
/** Answered ids remembered, to tell a duplicate answer from an answer to a request never sent. */
const ANSWERED_KEPT = 256;

class GuardedReader extends AbstractMessageReader {
  private readonly answered = new Set<string | number>();

  constructor(
    private readonly inner: FrameReader,
    private readonly outstanding: Set<string | number>,
    private readonly onDuplicate: (id: string | number) => void,
    private readonly take: (message: Message) => boolean,
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
      if (problem === undefined) return this.take(message) ? undefined : callback(message);
      if (problem === DUPLICATE) return this.onDuplicate((message as unknown as { id: string | number }).id);
      broken = true;
      this.fireError(new ProtocolViolation(problem));
    });
    return Disposable.create(() => listening.dispose());
  }

  private check(message: Message): string | typeof DUPLICATE | undefined {
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
    if (!this.outstanding.delete(m.id)) {
      if (this.answered.has(m.id)) return DUPLICATE;
      return `a response to id ${JSON.stringify(m.id)}, which the host never sent`;
    }
    this.answered.add(m.id);
    if (this.answered.size > ANSWERED_KEPT) this.answered.delete(this.answered.values().next().value!);
    return undefined;
  }
}
