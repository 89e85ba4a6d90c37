import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameReader, FrameWriter } from '@airlock/protocol';
import type { Message } from 'vscode-jsonrpc/node';

function reader(max?: number) {
  const stream = new PassThrough();
  const frames = new FrameReader(stream, max);
  const messages: Message[] = [];
  const errors: Error[] = [];
  frames.onError((e) => errors.push(e));
  frames.listen((m) => messages.push(m));
  return { stream, messages, errors };
}

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('framing', () => {
  it('reads frames split at any byte and several in one chunk', () => {
    const { stream, messages, errors } = reader();
    const text = frame('{"jsonrpc":"2.0","method":"a"}') + frame('{"jsonrpc":"2.0","method":"ü"}');
    for (const ch of Buffer.from(text)) stream.write(Buffer.from([ch]));
    stream.write(Buffer.from(text));
    expect(errors).toEqual([]);
    expect(messages.map((m) => (m as unknown as { method: string }).method)).toEqual(['a', 'ü', 'a', 'ü']);
  });

  it('refuses a frame over the maximum from its header, before reading the body', () => {
    const { stream, messages, errors } = reader(1000);
    stream.write('Content-Length: 999999999999\r\n\r\n{');
    expect(messages).toEqual([]);
    expect(errors[0]?.message).toMatch(/over the maximum of 1000 bytes/);
  });

  it('reports malformed headers, malformed JSON and headerless garbage, then stops', () => {
    const bad = reader();
    bad.stream.write(frame('{not json'));
    bad.stream.write(frame('{"jsonrpc":"2.0","method":"later"}'));
    expect(bad.errors[0]?.message).toMatch(/Malformed JSON/);
    expect(bad.messages).toEqual([]);
    const garbage = reader();
    garbage.stream.write('hello world\r\n\r\n');
    expect(garbage.errors[0]?.message).toMatch(/Malformed header line/);
    const endless = reader();
    endless.stream.write('x'.repeat(10_000));
    expect(endless.errors[0]?.message).toMatch(/No end of header/);
  });

  it('writes frames the reader reads back, coalescing one turn into one write', async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const writer = new FrameWriter(stream);
    await writer.write({ jsonrpc: '2.0', method: 'one' } as Message);
    await writer.write({ jsonrpc: '2.0', method: 'two' } as Message);
    await new Promise((r) => setImmediate(r));
    expect(chunks).toHaveLength(1);
    const { stream: input, messages } = reader();
    input.write(Buffer.concat(chunks));
    expect(messages.map((m) => (m as unknown as { method: string }).method)).toEqual(['one', 'two']);
  });
});
