import type { WireValue } from './wire-value.js';

/**
 * Byte strings at least this long travel as binary parts of their frame (raw bytes after its
 * JSON) instead of as base64 inside it: no encoding, a third fewer bytes, no copy into a string.
 * Shorter ones stay inline, where a part's header entry would cost more than it saves.
 */
export const BINARY_PART_MIN_BYTES = 1024;

/** The binary parts of the frame being serialized, while one is (see serializeWithParts). */
let collecting: Uint8Array[] | undefined;

/**
 * Bytes on their way to the other end. Inside serializeWithParts JSON.stringify turns them into
 * a reference to a binary part of the frame (`{ "$t": "bytes", "b": 0 }`); anywhere else into
 * base64 (`{ "$t": "bytes", "v": "…" }`), so a value written to a log or a file stays complete.
 */
export class WireBytes {
  constructor(
    /** The bytes (a view: not copied until they are written). */
    readonly bytes: Uint8Array,
    /** The typed array's constructor name, or undefined for plain bytes. */
    readonly kind: string | undefined,
  ) {}

  toJSON(): WireValue {
    const tag: Record<string, WireValue> = this.kind === undefined ? { $t: 'bytes' } : { $t: 'typed', k: this.kind };
    if (collecting === undefined) {
      tag.v = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('base64');
    } else {
      tag.b = collecting.push(this.bytes) - 1;
    }
    return tag;
  }
}

/** Runs `serialize` (a JSON.stringify of one message) and returns its JSON with the binary parts its WireBytes became, in order. */
export function serializeWithParts(serialize: () => string): { json: string; parts: Uint8Array[] } {
  const outer = collecting;
  const parts: Uint8Array[] = [];
  collecting = parts;
  try {
    return { json: serialize(), parts };
  } finally {
    collecting = outer;
  }
}

/**
 * Puts a received frame's binary parts where its JSON refers to them: `{ "$t": "bytes", "b": i }`
 * becomes `{ "$t": "bytes", "v": <part i> }` (decodeValue takes either form). Throws, naming the
 * bad reference, on an index that is not one of the frame's parts.
 */
export function attachParts(message: unknown, parts: readonly Uint8Array[]): void {
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const tagged = value as Record<string, unknown>;
    if ((tagged.$t === 'bytes' || tagged.$t === 'typed') && 'b' in tagged) {
      const index = tagged.b;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= parts.length) {
        throw new RangeError(`A value refers to binary part ${JSON.stringify(index)}, but its frame has ${parts.length} part(s)`);
      }
      tagged.v = parts[index];
      delete tagged.b;
      return;
    }
    for (const item of Object.values(tagged)) visit(item);
  };
  visit(message);
}
