// Tests of the harness's pure parts that tell failures apart and order inputs: masking a line of
// plugin output, signatures, grouping (packages/host/src/harness/signature.ts) and the natural
// order of corpus files (natural-order.ts). No worker.
import { describe, expect, it } from 'vitest';
import type { CallSettlement } from '../../packages/host/src/harness/run-harness.js';
import { EXAMPLES, functionName, groupFailures, lastLine, maskLine, signatureOf } from '../../packages/host/src/harness/signature.js';
import { naturalCompare } from '../../packages/host/src/harness/natural-order.js';

const crash = (signal: string, extra: Record<string, unknown> = {}): CallSettlement => ({ ok: false, error: { code: 'CRASHED', message: 'boom', signal, ...extra } });

describe('harness: signatures', () => {
  it('masks addresses and numbers, keeps digits that are part of a name', () => {
    expect(maskLine('decode: bad tag at 0x7ffd5e3a10c0, length 12')).toBe('decode: bad tag at <addr>, length <n>');
    expect(maskLine('ptr 7ffd5e3a10c0 and deadbeef')).toBe('ptr <addr> and deadbeef');
    expect(maskLine('  offset -3, ratio 0.25,   id=42 ')).toBe('offset <n>, ratio <n>, id=<n>');
    expect(maskLine('sha256 of x86_64 took 12ms')).toBe('sha256 of x86_64 took <n>ms');
    expect(maskLine('no numbers here')).toBe('no numbers here');
  });

  it('names the function of a prototype, or a symbol as it is', () => {
    expect(functionName('int decode(const uint8_t *data, size_t len)')).toBe('decode');
    expect(functionName('const char *getenv(const char *name)')).toBe('getenv');
    expect(functionName('vaccel_op')).toBe('vaccel_op');
  });

  it('takes the last line that is not blank', () => {
    expect(lastLine(['a', 'b', '  ', ''])).toBe('b');
    expect(lastLine([])).toBeUndefined();
    expect(lastLine(undefined)).toBeUndefined();
  });

  it('builds a signature from code, signal, limit or exit status, function and masked last line', () => {
    const fn = 'int decode(const uint8_t *data, size_t len)';
    const segv = signatureOf(crash('SIGSEGV'), fn, ['start', 'decode: bad tag at 0x55d0, length 7']);
    expect(segv).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV', fn: 'decode', line: 'decode: bad tag at <addr>, length <n>', text: 'CRASHED SIGSEGV in decode: decode: bad tag at <addr>, length <n>' });
    expect(segv.id).toMatch(/^crashed-sigsegv-decode-[0-9a-f]{8}$/);
    // Another input reaching the same bug prints other numbers: the same signature.
    expect(signatureOf(crash('SIGSEGV'), fn, ['decode: bad tag at 0x7f00aa, length 300']).text).toBe(segv.text);
    expect(signatureOf(crash('SIGSEGV'), fn, ['decode: bad tag at 0x7f00aa, length 300']).id).toBe(segv.id);
    // Same signal, other line (or none): other bugs.
    expect(signatureOf(crash('SIGSEGV'), fn, ['decode: other']).text).toBe('CRASHED SIGSEGV in decode: decode: other');
    expect(signatureOf(crash('SIGSEGV'), fn, []).text).toBe('CRASHED SIGSEGV in decode');
    expect(signatureOf(crash('SIGSEGV'), fn, []).id).not.toBe(segv.id);
    expect(signatureOf({ ok: false, error: { code: 'LIMIT_EXCEEDED', message: 'm', limit: 'memory' } }, fn, []).text).toBe('LIMIT_EXCEEDED memory in decode');
    expect(signatureOf({ ok: false, error: { code: 'CRASHED', message: 'm', exitCode: 3 } }, fn, []).id).toMatch(/^crashed-exit3-decode-/);
    expect(signatureOf({ ok: true, result: 1 }, fn, ['decode: checksum 619 mismatch'])).toMatchObject({ code: 'WRONG_RESULT', text: 'WRONG_RESULT in decode: decode: checksum <n> mismatch' });
  });

  it('groups failures by signature with counts and the first examples, in first-seen order', () => {
    const fn = 'int decode(const uint8_t *data, size_t len)';
    const failures = [
      ...Array.from({ length: 10_000 }, (_, i) => ({ file: `tag${i}.bin`, actual: crash('SIGSEGV'), output: [`decode: bad tag at 0x${(0x1000 + i).toString(16)}, length ${i}`] })),
      { file: 'magic.bin', actual: crash('SIGABRT'), output: ['decode: magic at offset 3'] },
      { file: 'magic2.bin', actual: crash('SIGABRT'), output: ['decode: magic at offset 9'] },
    ];
    failures.splice(1, 0, { file: 'early-magic.bin', actual: crash('SIGABRT'), output: ['decode: magic at offset 0'] });
    const groups = groupFailures(failures, (f) => signatureOf(f.actual, fn, f.output), (f) => f.file);
    expect(groups.map((g) => [g.signature, g.count, g.examples])).toEqual([
      ['CRASHED SIGSEGV in decode: decode: bad tag at <addr>, length <n>', 10_000, ['tag0.bin', 'tag1.bin', 'tag2.bin']],
      ['CRASHED SIGABRT in decode: decode: magic at offset <n>', 3, ['early-magic.bin', 'magic.bin', 'magic2.bin']],
    ]);
    expect(EXAMPLES).toBe(3);
    expect(groups[0]).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV', fn: 'decode', line: 'decode: bad tag at <addr>, length <n>' });
    expect(groups[0]).not.toHaveProperty('limit');
  });
});

describe('harness: natural order of corpus files', () => {
  it('orders runs of digits by value, the rest by code units', () => {
    const names = ['case10.bin', 'case2.bin', 'case1.bin', 'b', 'a10b', 'a2b', 'case01.bin', 'A', 'case2.bin.json'];
    expect([...names].sort(naturalCompare)).toEqual(['A', 'a2b', 'a10b', 'b', 'case1.bin', 'case01.bin', 'case2.bin', 'case2.bin.json', 'case10.bin']);
    expect(naturalCompare('x99999999999999999999', 'x100000000000000000000')).toBeLessThan(0);
    expect(naturalCompare('same', 'same')).toBe(0);
  });
});
