// `plugin-run harness` on a corpus of 20,000 small files (generated here) against the decoder
// fixture, with the CLI's heap and descriptors capped: it runs them all without running out
// of either, in natural order, and a bug among them is still one group with its count.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, fixture } from '../helpers/fixtures.js';

const FILES = 20_000;
/** Inputs among them that reach the decoder's "bad tag" segfault (byte 0 is 0xEE). */
const CRASHING = 10;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-harness-scale-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('plugin-run harness at scale', () => {
  it(`runs ${FILES} corpus files with a 160 MiB heap and 256 descriptors: every one settles, in natural order, the crashes one group`, () => {
    const corpus = join(dir, 'corpus');
    mkdirSync(corpus);
    const crashing = new Set(Array.from({ length: CRASHING }, (_, i) => Math.floor((i * FILES) / CRASHING) + 7));
    for (let i = 1; i <= FILES; i += 1) writeFileSync(join(corpus, `in${i}.bin`), crashing.has(i) ? new Uint8Array([0xee, i & 0xff]) : `ok${i}`);
    const spec = join(dir, 'spec.yaml');
    writeFileSync(spec, `library: ${fixture('decoder')}\nworkers: 2\ncorpus:\n  - name: many\n    fn: int decode(const uint8_t *data, size_t len)\n    dir: corpus\n    expect: { result: 0 }\n`);
    const report = join(dir, 'report.json');
    const crashes = join(dir, 'crashes');
    // The descriptor limit binds the CLI and the workers it starts; the heap cap, the CLI's V8.
    const command = `ulimit -n 256 && exec "$0" --max-old-space-size=160 "$@"`;
    let status = 0;
    let stdout: string;
    try {
      stdout = execFileSync('/bin/sh', ['-c', command, process.execPath, CLI, 'harness', spec, '--failures-only', '--crashes', crashes, '--report', `json:${report}`], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { status: number | null; stdout: string; stderr: string };
      if (e.status === null) throw new Error(`plugin-run harness did not exit: ${e.stderr}`);
      status = e.status;
      stdout = e.stdout;
    }
    expect(status).toBe(1);
    expect(stdout).toMatch(new RegExp(`^${FILES} cases: ${FILES - CRASHING} passed, ${CRASHING} failed in [\\d.]+ s on 2 workers \\(calls: .*CRASHED ${CRASHING}.*\\)$`, 'm'));
    const run = JSON.parse(readFileSync(report, 'utf8')) as { summary: { ran: number; groups: number }; groups: Array<{ signature: string; count: number; examples: string[] }>; outcomes: Array<{ name: string; outcome: string }> };
    expect(run.summary).toMatchObject({ ran: FILES, groups: 1 });
    expect(run.outcomes.map((o) => o.name)).toEqual(Array.from({ length: FILES }, (_, i) => `many/in${i + 1}.bin`));
    const sorted = [...crashing].sort((a, b) => a - b);
    expect(run.groups).toEqual([expect.objectContaining({ signature: 'CRASHED SIGSEGV in decode: decode: bad tag at <addr>, length <n>', count: CRASHING, examples: sorted.slice(0, 3).map((i) => join(corpus, `in${i}.bin`)) })]);
    expect(readdirSync(crashes).filter((name) => !name.endsWith('.json'))).toHaveLength(CRASHING);
  }, 240_000);
});
