// How big a run of calls is on the channel, known before it is sent: arguments too large for
// a frame are refused with the size and the option to raise, not cut off by the reader.
import { WireBytes, frameBytes } from '@airlock/protocol';

/** Room a frame of calls needs besides its arguments, library and function names (header, limits, keys). */
const FRAME_ENVELOPE_BYTES = 512;

/** Bytes a frame carrying `args` for `library` and `fn` takes, counted exactly once the count nears `maxFrameBytes`. */
export function runFrameBytes(library: string, fn: string, args: unknown, maxFrameBytes: number): number {
  return frameBytesAtLeast(args, maxFrameBytes) + FRAME_ENVELOPE_BYTES + library.length + fn.length;
}

/**
 * The frame size of wire-encoded arguments, counted only as far as it matters: binary parts
 * and strings by their length, anything else by a few bytes; exactly, by serializing them, once
 * the count comes near `limit`.
 */
function frameBytesAtLeast(args: unknown, limit: number): number {
  let count = 0;
  const visit = (value: unknown): void => {
    if (value instanceof WireBytes) count += value.bytes.byteLength + 16;
    else if (typeof value === 'string') count += value.length + 2;
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) visit(item);
    else count += 8;
  };
  // A run's argument lists of numbers alone (the hot path) are counted without a visit each.
  if (Array.isArray(args)) {
    for (const item of args) {
      if (Array.isArray(item) && onlyNumbers(item)) count += item.length * 8;
      else visit(item);
    }
  } else visit(args);
  return count * 2 < limit ? count : frameBytes(args);
}

function onlyNumbers(items: readonly unknown[]): boolean {
  for (let index = 0; index < items.length; index += 1) if (typeof items[index] !== 'number') return false;
  return true;
}
