// Tests of the harness's kept inputs (packages/host/src/harness/crash-store.ts) in a temporary
// directory, no worker: names by group and content, the record beside each input, an input kept
// once, and the one-line errors for a --crashes that is a file and a --replay that is not ours.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEPT_KIND, keepInput, keptName, openCrashDir, readKept, replayCommand, sha256 } from '../../packages/host/src/harness/crash-store.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-crash-store-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const record = {
  group: 'crashed-sigsegv-decode-1a2b3c4d',
  signature: 'CRASHED SIGSEGV in decode: decode: bad tag at <addr>',
  outcome: { code: 'CRASHED', signal: 'SIGSEGV', message: 'crashed' },
  expect: { result: 18446744073709551615n },
  reason: 'expected result 18446744073709551615, got CRASHED SIGSEGV: crashed',
  output: ['decode: bad tag at 0x55d0'],
  source: { spec: '/x/spec.yaml', case: 'inputs/a.bin', file: '/x/corpus/a.bin' },
  call: { library: '/x/libdecoder.so', fn: 'int decode(const uint8_t *data, size_t len)', abi: 'auto' as const, limits: { timeoutMs: 500 } },
};

describe('harness: kept inputs', () => {
  it('keeps an input as <group>-<content hash> with its record, once', async () => {
    const crashes = openCrashDir(join(dir, 'made/on/demand'));
    const bytes = new Uint8Array([0xee, 1, 2, 3]);
    const file = await keepInput(crashes, record.group, bytes, record);
    expect(file).toBe(join(crashes, `crashed-sigsegv-decode-1a2b3c4d-${sha256(bytes).slice(0, 16)}`));
    expect(keptName(record.group, bytes)).toBe(`crashed-sigsegv-decode-1a2b3c4d-${sha256(bytes).slice(0, 16)}`);
    expect([...readFileSync(file)]).toEqual([0xee, 1, 2, 3]);
    expect(await keepInput(crashes, record.group, bytes, { ...record, reason: 'again' })).toBe(file);
    expect(readdirSync(crashes).sort()).toEqual([`${keptName(record.group, bytes)}`, `${keptName(record.group, bytes)}.json`]);
    const kept = readKept(`${file}.json`);
    expect(kept.input).toBe(file);
    expect([...kept.bytes]).toEqual([0xee, 1, 2, 3]);
    // The first record stays; values JSON cannot carry come back exactly.
    expect(kept.record).toMatchObject({ kind: KEPT_KIND, reason: record.reason, bytes: 4, sha256: sha256(bytes), replay: replayCommand(file), expect: { result: 18446744073709551615n } });
    expect(replayCommand("/tmp/it's here")).toBe(`plugin-run harness --replay '/tmp/it'\\''s here'`);
  });

  it('refuses a --crashes that is a file, and a --replay that is missing, not ours or without its record, in one line naming it', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => openCrashDir(file)).toThrow(`--crashes ${JSON.stringify(file)} is not a directory (expected a directory to keep failing inputs in, made if missing)`);
    const expected = '(expected an input kept by --crashes, with its .json beside it)';
    expect(() => readKept(join(dir, 'missing'))).toThrow(`--replay ${JSON.stringify(join(dir, 'missing'))}: no such file ${join(dir, 'missing')} ${expected}`);
    expect(() => readKept(file)).toThrow(`no such file ${file}.json ${expected}`);
    writeFileSync(`${file}.json`, '{"kind":"something else"}');
    expect(() => readKept(file)).toThrow(`${file}.json is not a record of a kept input ${expected}`);
    writeFileSync(`${file}.json`, '{not json');
    expect(() => readKept(file)).toThrow(`${file}.json is not valid JSON ${expected}`);
    expect(() => readKept(dir)).toThrow(`${dir} is a directory`);
  });
});
