// The vitest example (examples/vitest), run by a vitest of its own as a child process: the test
// whose call crashes fails with the crash's classification in its message, the tests after it
// run and pass on a fresh worker, and the run exits 1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, fixture } from '../helpers/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-vitest-example-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the vitest example', () => {
  it('reports the crash as a failed test with its classification and keeps running', () => {
    fixture('tlv'); // built by the test set-up
    const report = join(dir, 'report.json');
    const args = [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(ROOT, 'examples/vitest/vitest.config.ts'), '--reporter=json', `--outputFile=${report}`];
    let status = 0;
    try {
      execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000, env: { ...process.env, VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined } });
    } catch (error) {
      const e = error as { status: number | null; stderr: Buffer };
      if (e.status === null) throw new Error(`the example's vitest did not exit: ${e.stderr}`);
      status = e.status;
    }
    expect(status).toBe(1);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: Array<{ assertionResults: Array<{ title: string; status: string; failureMessages: string[] }> }> };
    expect([json.numPassedTests, json.numFailedTests]).toEqual([4, 1]);
    const results = json.testResults[0]!.assertionResults;
    expect(results.map((r) => [r.title, r.status])).toEqual([
      ['counts a text and a number record', 'passed'],
      ['pins a known crash: an unknown record type is CRASHED with SIGSEGV', 'passed'],
      ['counts two records (fails: the second record crashes the decoder)', 'failed'],
      ['runs after the crash, on a fresh worker', 'passed'],
      ['cuts a hang with a timeout: TIMEOUT, the worker killed', 'passed'],
    ]);
    expect(results[2]!.failureMessages).toHaveLength(1);
    expect(results[2]!.failureMessages[0]).toMatch(/^AirlockError: CRASHED SIGSEGV: The worker crashed with SIGSEGV while calling int tlv_count\(const uint8_t \*data, size_t len\) in .*libtlv\.so/);
  }, 120_000);
});
