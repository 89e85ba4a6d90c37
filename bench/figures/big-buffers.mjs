// Figure 10: 64 MiB into and 64 MiB out of a C function in a worker (bench_copy of
// test/fixtures/c/bench.c: a `const uint8_t *` in, a `uint8_t *` out buffer back), against a raw
// pipe moving the same bytes through a child that echoes them (bench/raw-echo-child.mjs).
// MiB/s counts the bytes both ways (in + out). With the default host first; if that fails,
// with maxFrameBytes raised; a failure is recorded with its code and message, and then the same
// is measured at 16 MiB (marked as such) so the cost per byte is still seen.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHost } from '@airlock/host';
import { BENCH_LIB, errorRecord, now } from '../lib/common.mjs';

const MiB = 1024 * 1024;
const COPY = 'size_t bench_copy(const uint8_t *in, size_t n, uint8_t *out, size_t m)';

function pattern(bytes) {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + (i >>> 13)) & 0xff;
  return data;
}

export async function bigBuffers(bytes = 64 * MiB, rounds = 3, fallbackBytes = 16 * MiB) {
  const data = pattern(bytes);
  const raw = await rawEcho(data, rounds);
  const attempts = [];
  for (const options of [{}, { maxFrameBytes: 4 * bytes }]) {
    const attempt = await airlockCopy(data, options, rounds);
    attempts.push(attempt);
    if (attempt.mibPerSecond !== null) break;
  }
  const best = attempts.find((a) => a.mibPerSecond !== null);
  let fallback = null;
  if (!best && fallbackBytes < bytes) {
    const part = data.subarray(0, fallbackBytes);
    const rawPart = await rawEcho(part, rounds);
    const attempt = await airlockCopy(part, {}, rounds);
    fallback = { bytes: fallbackBytes, mibPerSecond: attempt.mibPerSecond, rawMibPerSecond: rawPart.mibPerSecond, raw: rawPart, attempt };
  }
  return { bytes, mibPerSecond: best?.mibPerSecond ?? null, rawMibPerSecond: raw.mibPerSecond, raw, attempts, fallback };
}

async function airlockCopy(data, options, rounds) {
  const host = createHost(options);
  const seconds = [];
  try {
    await host.call(BENCH_LIB, COPY, [data.subarray(0, 16), 16]); // the worker is up and has the library
    for (let round = 0; round < rounds; round++) {
      const start = now();
      let reply;
      try {
        reply = await host.call(BENCH_LIB, COPY, [data, data.length]);
      } catch (error) {
        return { options, mibPerSecond: null, afterMs: now() - start, error: errorRecord(error) };
      }
      seconds.push((now() - start) / 1e3);
      const out = reply.out[0];
      if (reply.result !== data.length || !Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(data)) {
        return { options, mibPerSecond: null, error: { code: null, message: `bench_copy returned ${reply.result} and ${out.length} bytes that differ from its input` } };
      }
      if (seconds[0] > 5) break; // slow enough that one more round would not change the picture
    }
  } finally {
    await host.close();
  }
  return { options, mibPerSecond: (2 * data.length) / MiB / Math.min(...seconds), seconds };
}

async function rawEcho(data, rounds) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../raw-echo-child.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const roundTrip = (payload) =>
    new Promise((resolve) => {
      const chunks = [];
      let received = 0;
      const onData = (chunk) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received < 8 + payload.length) return;
        child.stdout.off('data', onData);
        resolve(Buffer.concat(chunks, received).subarray(8));
      };
      child.stdout.on('data', onData);
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(payload.length));
      child.stdin.write(head);
      child.stdin.write(payload);
    });
  try {
    await roundTrip(data.subarray(0, 16));
    const seconds = [];
    for (let round = 0; round < rounds; round++) {
      const start = now();
      const echoed = await roundTrip(data);
      seconds.push((now() - start) / 1e3);
      if (!echoed.equals(data)) throw new Error('the raw echo child returned other bytes');
    }
    return { mibPerSecond: (2 * data.length) / MiB / Math.min(...seconds), seconds };
  } finally {
    child.stdin.end();
    child.kill();
  }
}
