import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BINARY_PART_MIN_BYTES, FrameReader, FrameWriter, WireBytes, decodeValue, encodeValue } from '@airlock/protocol';
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

  it('drained() resolves once a backlog below the high-water mark is written (no drain event comes for it)', async () => {
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 1 << 20,
      write(_chunk, _encoding, callback) {
        release = () => callback();
      },
    });
    const writer = new FrameWriter(slow);
    expect(writer.writeNow({ jsonrpc: '2.0', method: 'one' } as Message)).toBe(false);
    let drained = false;
    const waiting = writer.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    release?.();
    await waiting;
    expect(drained).toBe(true);
    expect(slow.writableLength).toBe(0);
  });

  describe('binary parts', () => {
    /** Writes messages through a FrameWriter and returns every byte it wrote. */
    async function written(...messages: unknown[]): Promise<Buffer> {
      const stream = new PassThrough();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      const writer = new FrameWriter(stream);
      for (const message of messages) await writer.write(message as Message);
      await new Promise((r) => setImmediate(r));
      return Buffer.concat(chunks);
    }

    const pattern = (bytes: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + (i >> 9)) & 0xff);

    it('sends byte strings of BINARY_PART_MIN_BYTES and more as raw parts after the JSON, and small ones inline as base64', async () => {
      const big = pattern(BINARY_PART_MIN_BYTES);
      const small = new Uint8Array(BINARY_PART_MIN_BYTES - 1).fill(0x55);
      const wire = encodeValue([big, small, new Float64Array(200).fill(1.5)]);
      expect((wire as unknown[])[0]).toBeInstanceOf(WireBytes);
      expect((wire as unknown[])[1]).toEqual({ $t: 'bytes', v: Buffer.from(small).toString('base64') });
      const bytes = await written({ jsonrpc: '2.0', method: 'm', params: { args: wire } });
      const header = bytes.toString('latin1', 0, bytes.indexOf('\r\n\r\n'));
      expect(header).toMatch(new RegExp(`^Content-Length: \\d+\r\nAirlock-Binary: ${BINARY_PART_MIN_BYTES},1600$`));
      // The raw bytes follow the JSON as they are (no base64 of them anywhere).
      expect(bytes.includes(Buffer.from(big))).toBe(true);
      expect(bytes.includes(Buffer.from(Buffer.from(big).toString('base64').slice(0, 40)))).toBe(false);

      const { stream, messages, errors } = reader();
      for (let at = 0; at < bytes.length; at += 333) stream.write(bytes.subarray(at, at + 333));
      expect(errors).toEqual([]);
      const [decodedBig, decodedSmall, floats] = decodeValue((messages[0] as unknown as { params: { args: unknown } }).params.args) as [Uint8Array, Uint8Array, Float64Array];
      expect(decodedBig.constructor).toBe(Uint8Array);
      expect(Buffer.from(decodedBig).equals(Buffer.from(big))).toBe(true);
      expect(Buffer.from(decodedSmall).equals(Buffer.from(small))).toBe(true);
      expect(floats).toBeInstanceOf(Float64Array);
      expect(Array.from(floats)).toEqual(new Array(200).fill(1.5));
    });

    it('reads a frame of several MiB straight into place, split at any size, and frames around it', async () => {
      const big = pattern(3 * 1024 * 1024 + 5);
      const bytes = await written(
        { jsonrpc: '2.0', method: 'before' },
        { jsonrpc: '2.0', method: 'big', params: encodeValue({ data: big }) },
        { jsonrpc: '2.0', method: 'after' },
      );
      const { stream, messages, errors } = reader();
      let at = 0;
      for (const size of [1, 7, 65536, 1 << 20, 3, 2 << 20]) {
        stream.write(bytes.subarray(at, at + size));
        at += size;
      }
      stream.write(bytes.subarray(at));
      expect(errors).toEqual([]);
      expect(messages.map((m) => (m as unknown as { method: string }).method)).toEqual(['before', 'big', 'after']);
      const { data } = decodeValue((messages[1] as unknown as { params: unknown }).params) as { data: Uint8Array };
      expect(data.byteLength).toBe(big.byteLength);
      expect(Buffer.from(data).equals(Buffer.from(big))).toBe(true);
    });

    it('outside a frame (a log line, a file) bytes serialize as base64 and decode the same', () => {
      const big = pattern(4096);
      const text = JSON.stringify(encodeValue({ data: big }));
      expect(JSON.parse(text)).toEqual({ data: { $t: 'bytes', v: Buffer.from(big).toString('base64') } });
      const { data } = decodeValue(JSON.parse(text)) as { data: Uint8Array };
      expect(Buffer.from(data).equals(Buffer.from(big))).toBe(true);
    });

    it('counts binary parts against the maximum frame size from the header', () => {
      const { stream, messages, errors } = reader(1000);
      stream.write('Content-Length: 20\r\nAirlock-Binary: 500,600\r\n\r\n');
      expect(messages).toEqual([]);
      expect(errors[0]?.message).toBe('Frame of 1120 bytes is over the maximum of 1000 bytes');
    });

    it('refuses a malformed Airlock-Binary header and a reference to a part the frame does not have', () => {
      const malformed = reader();
      malformed.stream.write('Content-Length: 2\r\nAirlock-Binary: 12,x\r\n\r\n{}');
      expect(malformed.errors[0]?.message).toBe('Bad Airlock-Binary "12,x": expected byte counts separated by commas');

      const dangling = reader();
      const body = '{"jsonrpc":"2.0","method":"m","params":[{"$t":"bytes","b":1}]}';
      dangling.stream.write(`Content-Length: ${body.length}\r\nAirlock-Binary: 3\r\n\r\n${body}abc`);
      expect(dangling.messages).toEqual([]);
      expect(dangling.errors[0]?.message).toMatch(/^A value refers to binary part 1, but its frame has 1 part\(s\): /);
    });
  });
});
