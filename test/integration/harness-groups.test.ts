// `plugin-run harness` on a decoder with planted bugs (test/fixtures/c/decoder.c), through the
// CLI with real workers: corpora generated here (seeded) reach each bug through many inputs.
// Each bug is one group with the right count; every failing input is kept under --crashes with
// its record; each group's minimized input is smaller, exactly what the bug needs, and still
// fails the same way on --replay; JUnit tells calls that did not return (<error>) from wrong
// results (<failure>); an empty corpus and bad --crashes/--replay values are refused (exit 2).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pluginRun } from '../helpers/fixtures.js';

const DECODE = 'int decode(const uint8_t *data, size_t len)';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-harness-groups-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A small seeded generator (mulberry32): the same corpus on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes that reach no bug by themselves: no 00 (so no 00 FF), no "DEAD" (no 'D'). */
function filler(next: () => number, length: number): number[] {
  return Array.from({ length }, () => {
    const byte = 1 + Math.floor(next() * 255);
    return byte === 0x44 ? 0x45 : byte;
  });
}

interface Bug {
  /** File names: `<kind>-<i>.bin`. */
  kind: string;
  count: number;
  make: (i: number, next: () => number) => number[];
  signature: string;
  code: string;
  signal?: string;
  /** What the minimizer must end with. */
  minimal: number[];
}

const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];

// Every input holds its index, so that no two have the same content.
const BUGS: Bug[] = [
  { kind: 'tag', count: 25, make: (i, n) => [0xee, i, ...filler(n, 3 + (i % 12))], signature: 'CRASHED SIGSEGV in decode: decode: bad tag at <addr>, length <n>', code: 'CRASHED', signal: 'SIGSEGV', minimal: [0xee] },
  { kind: 'silent', count: 15, make: (i, n) => [0xef, i, ...filler(n, 2 + (i % 9))], signature: 'CRASHED SIGSEGV in decode', code: 'CRASHED', signal: 'SIGSEGV', minimal: [0xef] },
  { kind: 'magic', count: 12, make: (i, n) => [0x61, i + 1, ...filler(n, i % 7), ...ascii('DEAD'), ...filler(n, 3)], signature: 'CRASHED SIGABRT in decode: decode: magic at offset <n>', code: 'CRASHED', signal: 'SIGABRT', minimal: ascii('DEAD') },
  { kind: 'hang', count: 3, make: (i, n) => [0x62, i + 1, 0x00, 0xff, ...filler(n, 2)], signature: 'TIMEOUT in decode: decode: waiting for more input', code: 'TIMEOUT', minimal: [0x00, 0xff] },
  { kind: 'wrong', count: 6, make: (i, n) => [0x57, i + 1, ...filler(n, 2 + i)], signature: 'WRONG_RESULT in decode: decode: checksum <n> mismatch', code: 'WRONG_RESULT', minimal: [0x57] },
];

interface Group {
  id: string;
  signature: string;
  code: string;
  signal?: string;
  fn: string;
  count: number;
  examples: string[];
  replay?: string;
  minimized?: { from: string; fromBytes: number; bytes: number; file?: string; tries: number; stoppedBy: string };
}

describe('plugin-run harness: groups, kept inputs, minimizing and replay', () => {
  it('makes one group per bug with its count and first three examples, keeps every failing input, minimizes each group, and replays', () => {
    const next = random(14);
    const corpus = join(dir, 'decoder/corpus');
    mkdirSync(corpus, { recursive: true });
    for (const bug of BUGS) for (let i = 1; i <= bug.count; i += 1) writeFileSync(join(corpus, `${bug.kind}-${i}.bin`), new Uint8Array(bug.make(i, next)));
    for (let i = 1; i <= 20; i += 1) writeFileSync(join(corpus, `valid-${i}.bin`), new Uint8Array([0x61 + (i % 20), ...filler(next, i)]));
    const spec = join(dir, 'decoder/spec.yaml');
    writeFileSync(
      spec,
      `library: ${fixture('decoder')}
workers: 2
limits: { timeoutMs: 300ms }
cases:
  - name: a segfault expected as such passes
    fn: ${DECODE}
    args: [{ hex: "ee 01" }]
    expect: { code: CRASHED, signal: SIGSEGV }
  - name: a wrong expectation of a valid input
    fn: ${DECODE}
    args: [{ hex: "61 62" }]
    expect: { result: 1 }
corpus:
  - name: decoder inputs
    fn: ${DECODE}
    dir: corpus
    expect: { result: 0 }
`,
    );
    const crashes = join(dir, 'decoder/crashes');
    const reports = join(dir, 'decoder/reports');
    const run = pluginRun(['harness', spec, '--crashes', crashes, '--minimize', '--report', `json:${reports}/run.json`, '--report', `junit:${reports}/run.xml`], { timeoutMs: 240_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);

    const report = JSON.parse(readFileSync(`${reports}/run.json`, 'utf8')) as { summary: Record<string, unknown>; groups: Group[]; outcomes: Array<{ name: string; outcome: string; file?: string; groupId?: string; kept?: string }> };
    const failedInputs = BUGS.reduce((sum, bug) => sum + bug.count, 0);
    expect(report.summary).toMatchObject({ total: 2 + failedInputs + 20, passed: 1 + 20, failed: failedInputs + 1, groups: BUGS.length + 1 });
    // One group per bug, in the order first seen (corpus files run in natural order: hang before magic …).
    const byKind = new Map(BUGS.map((bug) => [bug.kind, bug]));
    const fileOrder = ['hang', 'magic', 'silent', 'tag', 'wrong'];
    expect(report.groups.map((g) => [g.signature, g.count])).toEqual([
      ['WRONG_RESULT in decode: decode: <n> bytes ok', 1],
      ...fileOrder.map((kind) => [byKind.get(kind)!.signature, byKind.get(kind)!.count]),
    ]);
    const wrongCase = report.groups[0]!;
    expect(wrongCase).toMatchObject({ code: 'WRONG_RESULT', fn: 'decode', examples: ['a wrong expectation of a valid input'] });
    expect(wrongCase).not.toHaveProperty('replay');
    expect(wrongCase).not.toHaveProperty('minimized');

    const keptFiles = readdirSync(crashes);
    for (const [index, kind] of fileOrder.entries()) {
      const bug = byKind.get(kind)!;
      const group = report.groups[index + 1]!;
      expect(group).toMatchObject({ code: bug.code, fn: 'decode', examples: [1, 2, 3].map((i) => join(corpus, `${kind}-${i}.bin`)) });
      if (bug.signal !== undefined) expect(group.signal).toBe(bug.signal);
      else expect(group).not.toHaveProperty('signal');
      expect(group.id).toMatch(new RegExp(`^${bug.code.toLowerCase()}-${bug.signal ? `${bug.signal.toLowerCase()}-` : ''}decode-[0-9a-f]{8}$`));

      // Every failing input of the group is kept, named by the group, its bytes and record beside it.
      const failed = report.outcomes.filter((o) => o.file?.startsWith(join(corpus, `${kind}-`)));
      expect(failed).toHaveLength(bug.count);
      const kept = keptFiles.filter((name) => name.startsWith(`${group.id}-`) && !name.startsWith(`${group.id}-min-`) && !name.endsWith('.json'));
      expect(kept).toHaveLength(bug.count);
      for (const outcome of failed) {
        expect(outcome).toMatchObject({ outcome: 'fail', groupId: group.id });
        expect(kept).toContain(outcome.kept!.slice(crashes.length + 1));
        expect(readFileSync(outcome.kept!)).toEqual(readFileSync(outcome.file!));
        const record = JSON.parse(readFileSync(`${outcome.kept}.json`, 'utf8')) as Record<string, unknown>;
        expect(record).toMatchObject({ kind: 'airlock-harness-input/1', group: group.id, signature: bug.signature, source: { spec, file: outcome.file }, call: { library: fixture('decoder'), fn: DECODE, limits: { timeoutMs: 300 } }, replay: `plugin-run harness --replay ${outcome.kept}` });
      }
      expect(group.replay).toBe(`plugin-run harness --replay ${failed[0]!.kept}`);

      // The first input, minimized: exactly what the bug needs, kept with its record.
      const min = group.minimized!;
      expect(min).toMatchObject({ from: join(corpus, `${kind}-1.bin`), fromBytes: bug.make(1, () => 0).length, bytes: bug.minimal.length });
      expect(min.bytes).toBeLessThan(min.fromBytes);
      expect(min.file!.startsWith(join(crashes, `${group.id}-min-`))).toBe(true);
      expect([...readFileSync(min.file!)]).toEqual(bug.minimal);
      expect(JSON.parse(readFileSync(`${min.file}.json`, 'utf8'))).toMatchObject({ signature: bug.signature, minimizedFrom: failed[0]!.kept, bytes: bug.minimal.length });
    }
    // Nothing else was kept: the inputs, their minimized forms, a record beside each.
    const inputs = keptFiles.filter((name) => !name.endsWith('.json'));
    expect(inputs).toHaveLength(failedInputs + fileOrder.length);
    expect(keptFiles.filter((name) => name.endsWith('.json')).sort()).toEqual(inputs.map((name) => `${name}.json`).sort());

    // The summary shows each group once, with its count, examples, replay and minimized input.
    const tag = report.groups.find((g) => g.signature === byKind.get('tag')!.signature)!;
    expect(run.stdout).toContain(`Failures: ${failedInputs + 1} in ${BUGS.length + 1} groups`);
    expect(run.stdout).toContain(`  ${tag.signature}  (25 inputs)\n    decoder inputs/tag-1.bin (corpus[0]): expected result 0, got CRASHED SIGSEGV`);
    expect(run.stdout).toContain(`    examples: ${tag.examples.join(', ')}\n    plugin output (last lines):\n      decode: bad tag at 0x`);
    expect(run.stdout).toContain(`    replay: ${tag.replay}\n    minimized: ${tag.minimized!.fromBytes} → 1 byte in ${tag.minimized!.tries} tries: ${tag.minimized!.file}\n`);
    // A wrong result shows the plugin's last lines as an error does.
    expect(run.stdout).toContain('    decoder inputs/wrong-1.bin (corpus[0]): expected result 0, got 1\n');
    expect(run.stdout).toMatch(/expected result 0, got 1\n {4}examples: .*\n {4}plugin output \(last lines\):\n {6}decode: checksum \d+ mismatch\n/);

    // JUnit: crashes and hangs are <error>s typed by code, wrong results <failure>s; output in system-out/err.
    const xml = readFileSync(`${reports}/run.xml`, 'utf8');
    const crashesCount = 25 + 15 + 12;
    expect(xml).toMatch(new RegExp(`<testsuites [^>]* tests="${2 + failedInputs + 20}" failures="7" errors="${crashesCount + 3}"`));
    expect(xml).toContain(`<testsuite name="spec.decoder inputs" tests="${failedInputs + 20}" failures="6" errors="${crashesCount + 3}"`);
    expect(xml).toContain('<testsuite name="spec.cases" tests="2" failures="1" errors="0"');
    expect(xml.match(/<error [^>]*type="CRASHED"/g)).toHaveLength(crashesCount);
    expect(xml.match(/<error [^>]*type="TIMEOUT"/g)).toHaveLength(3);
    expect(xml.match(/<failure [^>]*type="WRONG_RESULT"/g)).toHaveLength(7);
    expect(xml).toContain(`<property name="group ${tag.id}" value="${tag.signature.replace(/</g, '&lt;').replace(/>/g, '&gt;')} | 25 inputs | examples: ${tag.examples.join(', ')}"/>`);
    expect(xml).toMatch(/<system-out>decode: bad tag at 0x[0-9a-f]+, length \d+<\/system-out>/);
    expect(xml).toMatch(/<system-err>decode: magic at offset \d+<\/system-err>/);

    // --replay runs a kept input again: the same signature, exit 1 (it still fails).
    const replayed = pluginRun(['harness', '--replay', tag.minimized!.file!]);
    expect(replayed.status).toBe(1);
    expect(replayed.stdout).toContain(`  kept as:  ${tag.signature}\n  now:      ${tag.signature}\n  reproduced: the same signature\n`);
    const magic = report.groups.find((g) => g.signature === byKind.get('magic')!.signature)!;
    const json = pluginRun(['harness', '--json', '--replay', `${magic.minimized!.file}.json`]);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, reproduced: true, signature: magic.signature, outcome: { outcome: 'fail', actual: { ok: false, error: { code: 'CRASHED', signal: 'SIGABRT' } } } });
  }, 300_000);

  it('refuses an empty corpus directory, a --crashes that is a file and a --replay of a missing file (exit 2, one line naming the value)', () => {
    mkdirSync(join(dir, 'empty/corpus'), { recursive: true });
    writeFileSync(join(dir, 'empty/corpus/.hidden'), 'x');
    const spec = join(dir, 'empty/spec.yaml');
    writeFileSync(spec, `library: ${fixture('decoder')}\ncorpus:\n  - fn: ${DECODE}\n    dir: corpus\n    expect: { result: 0 }\n`);
    const empty = pluginRun(['harness', spec]);
    expect(empty.status).toBe(2);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe(`plugin-run harness: bad spec (1 problem):\n  ${spec}:4:5: corpus[0].dir: no input files in "corpus" (looked in ${join(dir, 'empty/corpus')}; dot files are skipped): a corpus needs at least one\n`);

    writeFileSync(join(dir, 'empty/corpus/one.bin'), 'a');
    const notDir = pluginRun(['harness', spec, '--crashes', spec]);
    expect(notDir.status).toBe(2);
    expect(notDir.stderr).toBe(`plugin-run harness: --crashes ${JSON.stringify(spec)} is not a directory (expected a directory to keep failing inputs in, made if missing)\n`);
    const missing = join(dir, 'empty/no-such-input');
    const replay = pluginRun(['harness', '--replay', missing]);
    expect(replay.status).toBe(2);
    expect(replay.stderr).toBe(`plugin-run harness: --replay ${JSON.stringify(missing)}: no such file ${missing} (expected an input kept by --crashes, with its .json beside it)\n`);
    const noCrashes = pluginRun(['harness', spec, '--minimize']);
    expect(noCrashes.status).toBe(2);
    expect(noCrashes.stderr).toBe('error: --minimize needs --crashes DIR (where the minimized inputs are kept)\n(add --help for the usage)\n');
    // The same spec with one input passes (exit 0).
    expect(pluginRun(['harness', spec]).status).toBe(0);
  });
});
