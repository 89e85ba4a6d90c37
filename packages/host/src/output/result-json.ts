import { OpaquePointer } from '@airlock/protocol';

/**
 * The JSON that `plugin-run --json` prints and the harness's JSON report holds: plain JSON, except
 * for values JSON would change, which take a tagged form that `JSON.parse` cannot confuse with a
 * number or a string (the same forms harness specs take as input):
 *
 *   an integer beyond ±(2^53 − 1)   {"$bigint": "9223372036854775809"}
 *   NaN, ±Infinity, -0             {"$float": "NaN" | "Infinity" | "-Infinity" | "-0"}
 *   bytes (a Uint8Array)           {"base64": "AP8Q"}
 *   a native pointer               {"$pointer": "0x55d1c0ffee10", "workerPid": 4242}
 *
 * Other typed arrays are arrays of their numbers. `parseResultJson` reads it back exactly.
 */
export function toResultJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, item: unknown) {
    // The replacer sees what toJSON made of a value (a pointer's string, a Buffer's { type, data })
    // and -0 already as 0: the holder still has the value itself.
    const raw = this[key];
    if (typeof raw === 'number' && (!Number.isFinite(raw) || Object.is(raw, -0))) return { $float: floatName(raw) };
    if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? Number(raw) : { $bigint: raw.toString() };
    if (raw instanceof Uint8Array) return { base64: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (ArrayBuffer.isView(raw)) return Array.from(raw as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' && !Number.isSafeInteger(Number(n)) ? { $bigint: n.toString() } : Number(n)));
    if (raw instanceof OpaquePointer) return { $pointer: raw.toString(), workerPid: raw.workerPid };
    return item;
  });
}

function floatName(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (Object.is(value, -0)) return '-0';
  return value > 0 ? 'Infinity' : '-Infinity';
}

const FLOATS: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

/**
 * Reads `plugin-run --json` output (or a harness JSON report) back with its exact values:
 * `$bigint` as a bigint, `$float` as the number, `base64` as a Uint8Array, `$pointer` as
 * `{ address: bigint, workerPid }` (a pointer means something only to the worker it came from).
 */
export function parseResultJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const keys = Object.keys(value);
    const tagged = value as Record<string, unknown>;
    if (keys.length === 1 && typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
    if (keys.length === 1 && typeof tagged.$float === 'string' && tagged.$float in FLOATS) return FLOATS[tagged.$float];
    if (keys.length === 1 && typeof tagged.base64 === 'string') return new Uint8Array(Buffer.from(tagged.base64, 'base64'));
    if (keys.length === 2 && typeof tagged.$pointer === 'string' && typeof tagged.workerPid === 'number') return { address: BigInt(tagged.$pointer), workerPid: tagged.workerPid };
    return value;
  });
}
