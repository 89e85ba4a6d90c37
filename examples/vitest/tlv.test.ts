// A vitest suite that tests a native library that crashes, through airlock. Called in-process,
// the first crash would take vitest's worker down with every test after it; here each call runs
// in an airlock worker: a crash is an AirlockError (code CRASHED, its signal, the plugin's last
// lines) that fails its own test or is expected by it, and the suite goes on on a fresh worker.
//
//   npm run fixtures                                                 # builds libtlv.so from ../harness/c/tlv.c
//   npx vitest run --config examples/vitest/vitest.config.ts         # 4 passed, 1 failed (on purpose)
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createHost } from '@airlock/host';

const LIBRARY = fileURLToPath(new URL('../../test/fixtures/build/libtlv.so', import.meta.url));

// One host for the file, one worker; closed after the last test (no worker is left behind).
const host = createHost({ workers: 1, limits: { timeoutMs: 2_000 } });
afterAll(() => host.close());

// A typed function from the prototype: (data: Uint8Array) => Promise<number>.
const tlvCount = host.bind(LIBRARY, 'int tlv_count(const uint8_t *data, size_t len)');
const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));

describe('tlv_count, through airlock', () => {
  it('counts a text and a number record', async () => {
    expect(await tlvCount(hex('01 03 616263  02 04 01000000'))).toBe(2);
  });

  it('pins a known crash: an unknown record type is CRASHED with SIGSEGV', async () => {
    await expect(tlvCount(hex('ff 00'))).rejects.toMatchObject({ name: 'AirlockError', code: 'CRASHED', signal: 'SIGSEGV' });
  });

  // This test fails on purpose: the record after the text one has an unknown type. vitest reports
  // it as a failed test with the AirlockError (CRASHED, SIGSEGV) and goes on with the next test.
  it('counts two records (fails: the second record crashes the decoder)', async () => {
    expect(await tlvCount(hex('01 01 41  ff 00'))).toBe(2);
  });

  it('runs after the crash, on a fresh worker', async () => {
    expect(await tlvCount(hex('01 02 6869'))).toBe(1);
  });

  it('cuts a hang with a timeout: TIMEOUT, the worker killed', async () => {
    const spinning = host.bind(LIBRARY, 'int tlv_count(const uint8_t *data, size_t len)', { timeoutMs: 300 });
    await expect(spinning(hex('00 00'))).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
