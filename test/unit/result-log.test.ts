// The result log a worker leaves behind is tainted like any frame: the host takes from it only
// well-formed outcomes, in sequence, from the call it is waiting for on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESULT_LOG_BYTES, RESULT_LOG_NAME } from '@airlock/protocol';
import { readResultLog } from '../../packages/host/src/worker/result-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A worker temp dir whose log holds `lines`, committed up to `committed` bytes (default: all). */
function logWith(lines: string[], committed?: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-test-log-'));
  dirs.push(dir);
  const body = Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8');
  const file = Buffer.alloc(RESULT_LOG_BYTES);
  body.copy(file, 8);
  file.writeUInt32LE(committed ?? 8 + body.length, 0);
  writeFileSync(join(dir, RESULT_LOG_NAME), file);
  return dir;
}

const error = { message: 'bad', data: { code: 'PLUGIN_ERROR' } };

describe('readResultLog', () => {
  it('gives consecutive outcomes from the call waited for, values and errors alike', () => {
    const dir = logWith(['[3,6]', `[4,null,${JSON.stringify(error)}]`, '[5,{"$t":"bigint","v":"7"}]']);
    expect(readResultLog(dir, 3)).toEqual({ first: 3, values: [6, null, { $t: 'bigint', v: '7' }], errors: { 1: error } });
  });

  it('skips outcomes already received and stops at a gap', () => {
    const dir = logWith(['[1,2]', '[2,4]', '[3,6]', '[5,10]']);
    expect(readResultLog(dir, 2)).toEqual({ first: 2, values: [4, 6] });
  });

  it('reads only what the header commits (a half-written entry is not read)', () => {
    const dir = logWith(['[0,1]', '[1,2]'], 8 + 6 + 3);
    expect(readResultLog(dir, 0)).toEqual({ first: 0, values: [1] });
  });

  it('stops at a malformed entry, an entry of the wrong shape, or an error that fails its schema', () => {
    expect(readResultLog(logWith(['[0,1]', 'not json', '[2,3]']), 0)).toEqual({ first: 0, values: [1] });
    expect(readResultLog(logWith(['[0,1]', '{"seq":1}']), 0)).toEqual({ first: 0, values: [1] });
    expect(readResultLog(logWith(['[0,1]', '[1,null,{"message":"x","data":{"code":"NOT_A_CODE"}}]']), 0)).toEqual({ first: 0, values: [1] });
    expect(readResultLog(logWith(['[0,1,2,3]']), 0)).toBeUndefined();
  });

  it('is nothing when the log is empty, missing or planted with a length past the file', () => {
    expect(readResultLog(logWith([]), 0)).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'airlock-test-log-'));
    dirs.push(dir);
    expect(readResultLog(dir, 0)).toBeUndefined();
    expect(readResultLog(logWith(['[0,1]'], 0xffffffff), 0)).toEqual({ first: 0, values: [1] });
  });
});

describe("the worker's ResultLog, read back by the host", () => {
  it('writes integer outcomes byte by byte exactly as their JSON, on both sides of 2^31, negative ones too', async () => {
    const { ResultLog } = await import('../../packages/worker/src/channel/result-log.js');
    const dir = mkdtempSync(join(tmpdir(), 'airlock-test-log-'));
    dirs.push(dir);
    const log = ResultLog.open(dir)!;
    expect(log).toBeDefined();
    const values = [0, 7, 9, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, -1, -10, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER];
    const first = 2 ** 31 - 3;
    values.forEach((value, index) => expect(log.appendInteger(first + index, value)).toBe(true));
    expect(log.append(`[${first + values.length},"é"]`)).toBe(true);
    expect(log.append(`[${first + values.length + 1},1.5]`, true)).toBe(true);
    expect(readResultLog(dir, first)).toEqual({ first, values: [...values, 'é', 1.5] });
    log.reset();
    expect(log.empty).toBe(true);
    expect(readResultLog(dir, first)).toBeUndefined();
  });
});
