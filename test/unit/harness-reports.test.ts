// Tests of the harness's reports and summary from a run built here (no worker): JUnit's
// <error> for calls that did not return and <failure> for wrong results, the plugin's output by
// stream, suites named after corpus entries, groups with their counts; the summary's groups,
// its table fitted to a width, and colour only when asked.
import { describe, expect, it } from 'vitest';
import type { CaseOutcome, GroupReport, HarnessRun } from '../../packages/host/src/harness/run-harness.js';
import { isError, junitReport } from '../../packages/host/src/harness/reports.js';
import { renderSummary, terminal } from '../../packages/host/src/harness/summary.js';

const FN = 'int decode(const uint8_t *data, size_t len)';
const SEGV = 'CRASHED SIGSEGV in decode: decode: bad tag at <addr>';

function outcome(name: string, fields: Partial<CaseOutcome>): CaseOutcome {
  return { name, group: 'corpus[0]', suite: 'inputs', path: 'corpus[0]', fn: FN, outcome: 'pass', expect: { result: 0 }, actual: { ok: true, result: 0 }, durationMs: 3, ...fields };
}

function sampleRun(): HarnessRun {
  const segv = (i: number): CaseOutcome =>
    outcome(`inputs/tag${i}.bin`, {
      file: `/c/tag${i}.bin`,
      outcome: 'fail',
      actual: { ok: false, error: { code: 'CRASHED', message: 'crashed', signal: 'SIGSEGV', output: [`decode: bad tag at 0x${i}f`] } },
      reason: 'expected result 0, got CRASHED SIGSEGV: crashed',
      output: [{ stream: 'stdout', line: `decode: bad tag at 0x${i}f` }],
      signature: SEGV,
      groupId: 'crashed-sigsegv-decode-00000001',
      kept: `/k/crashed-sigsegv-decode-00000001-${i}`,
    });
  const outcomes = [
    outcome('inputs/ok.bin', { file: '/c/ok.bin' }),
    ...[0, 1, 2, 3, 4].map(segv),
    outcome('inputs/w.bin', {
      file: '/c/w.bin',
      outcome: 'fail',
      actual: { ok: true, result: 1 },
      reason: 'expected result 0, got 1',
      output: [{ stream: 'stdout', line: 'decode: checksum 619 mismatch' }, { stream: 'stderr', line: 'warning: W' }],
      signature: 'WRONG_RESULT in decode: decode: checksum <n> mismatch',
      groupId: 'wrong_result-decode-00000002',
    }),
    outcome('returns an error code', { group: 'cases', suite: 'cases', path: 'cases[0]', outcome: 'fail', actual: { ok: false, error: { code: 'PLUGIN_ERROR', message: 'negative' } }, reason: 'expected success, got PLUGIN_ERROR: negative', signature: 'PLUGIN_ERROR in decode', groupId: 'plugin_error-decode-00000003' }),
  ];
  const groups: GroupReport[] = [
    { id: 'crashed-sigsegv-decode-00000001', signature: SEGV, code: 'CRASHED', signal: 'SIGSEGV', fn: 'decode', line: 'decode: bad tag at <addr>', count: 5, examples: ['/c/tag0.bin', '/c/tag1.bin', '/c/tag2.bin'], replay: 'plugin-run harness --replay /k/crashed-sigsegv-decode-00000001-0', minimized: { from: '/c/tag0.bin', fromBytes: 30, bytes: 1, tries: 9, stoppedBy: 'done', file: '/k/crashed-sigsegv-decode-00000001-min-aa' } },
    { id: 'wrong_result-decode-00000002', signature: 'WRONG_RESULT in decode: decode: checksum <n> mismatch', code: 'WRONG_RESULT', fn: 'decode', count: 1, examples: ['/c/w.bin'] },
    { id: 'plugin_error-decode-00000003', signature: 'PLUGIN_ERROR in decode', code: 'PLUGIN_ERROR', fn: 'decode', count: 1, examples: ['returns an error code'] },
  ];
  return {
    spec: '/x/spec.yaml',
    library: '/x/libdecoder.so',
    startedAt: '2026-01-01T00:00:00.000Z',
    summary: { total: 8, ran: 8, passed: 1, failed: 7, groups: 3, interrupted: false, durationMs: 50, workers: 2, actual: { ok: 2, CRASHED: 5, PLUGIN_ERROR: 1 } },
    groups,
    outcomes,
  };
}

/** The elements named `tag` in `xml`, each with its attributes and inner text. */
function elements(xml: string, tag: string): Array<{ attrs: string; body: string }> {
  return [...xml.matchAll(new RegExp(`<${tag}((?: [^>]*)?)(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g'))].map((m) => ({ attrs: m[1] ?? '', body: m[2] ?? '' }));
}

describe('harness: JUnit report', () => {
  it('marks calls that did not return as <error type=code>, wrong results and plugin errors as <failure>', () => {
    const run = sampleRun();
    expect(run.outcomes.filter((o) => o.outcome === 'fail').map(isError)).toEqual([true, true, true, true, true, false, false]);
    const xml = junitReport(run);
    expect(elements(xml, 'testsuites')[0]!.attrs).toContain('tests="8" failures="2" errors="5"');
    expect(elements(xml, 'error').map((e) => /type="([^"]*)"/.exec(e.attrs)![1])).toEqual(['CRASHED', 'CRASHED', 'CRASHED', 'CRASHED', 'CRASHED']);
    expect(elements(xml, 'failure').map((e) => /type="([^"]*)"/.exec(e.attrs)![1])).toEqual(['WRONG_RESULT', 'PLUGIN_ERROR']);
    expect(elements(xml, 'error')[0]!.body).toContain('signature: CRASHED SIGSEGV in decode: decode: bad tag at &lt;addr&gt;');
    expect(elements(xml, 'error')[0]!.body).toContain('replay: plugin-run harness --replay /k/crashed-sigsegv-decode-00000001-0');
  });

  it("names suites after the corpus entry's name, lists each suite's groups, and carries output by stream", () => {
    const xml = junitReport(sampleRun());
    const suites = elements(xml, 'testsuite').map((s) => /name="([^"]*)" tests="(\d+)" failures="(\d+)" errors="(\d+)"/.exec(s.attrs)!.slice(1));
    expect(suites).toEqual([
      ['spec.inputs', '7', '1', '5'],
      ['spec.cases', '1', '1', '0'],
    ]);
    expect(xml).toContain(`<property name="group crashed-sigsegv-decode-00000001" value="${SEGV.replace('<', '&lt;').replace('>', '&gt;')} | 5 inputs | examples: /c/tag0.bin, /c/tag1.bin, /c/tag2.bin"/>`);
    expect(xml).toContain('<property name="group wrong_result-decode-00000002" value="WRONG_RESULT in decode: decode: checksum &lt;n&gt; mismatch | 1 input | examples: /c/w.bin"/>');
    expect(elements(xml, 'system-out').map((e) => e.body)).toEqual(['decode: bad tag at 0x0f', 'decode: bad tag at 0x1f', 'decode: bad tag at 0x2f', 'decode: bad tag at 0x3f', 'decode: bad tag at 0x4f', 'decode: checksum 619 mismatch']);
    expect(elements(xml, 'system-err').map((e) => e.body)).toEqual(['warning: W']);
  });
});

describe('harness: summary', () => {
  it('lists each group once with its count, first failure, examples, output, replay and minimized input', () => {
    const text = renderSummary(sampleRun(), { failuresOnly: true });
    expect(text).toContain('Failures: 7 in 3 groups');
    expect(text.match(/CRASHED SIGSEGV in decode/g)).toHaveLength(1);
    expect(text).toContain(`  ${SEGV}  (5 inputs)\n    inputs/tag0.bin (corpus[0]): expected result 0, got CRASHED SIGSEGV: crashed\n    examples: /c/tag0.bin, /c/tag1.bin, /c/tag2.bin\n    plugin output (last lines):\n      decode: bad tag at 0x0f\n    replay: plugin-run harness --replay /k/crashed-sigsegv-decode-00000001-0\n    minimized: 30 → 1 byte in 9 tries: /k/crashed-sigsegv-decode-00000001-min-aa\n`);
    // A wrong result shows the plugin's last lines as an error does.
    expect(text).toContain('  WRONG_RESULT in decode: decode: checksum <n> mismatch  (1 input)\n    inputs/w.bin (corpus[0]): expected result 0, got 1\n    examples: /c/w.bin\n    plugin output (last lines):\n      decode: checksum 619 mismatch\n      warning: W\n');
    expect(text).toMatch(/^8 cases: 1 passed, 7 failed in 0\.05 s on 2 workers \(calls: ok 2, CRASHED 5, PLUGIN_ERROR 1\)$/m);
  });

  it('fits the table to the width given, and uses colour only when asked', () => {
    const run = sampleRun();
    run.outcomes[0]!.name = `inputs/${'long-name-'.repeat(8)}.bin`;
    const table = (text: string): string[] => text.split('\n\n')[0]!.split('\n');
    const wide = table(renderSummary(run));
    expect(Math.max(...wide.map((l) => l.length))).toBeGreaterThan(60);
    const narrow = table(renderSummary(run, { width: 60 }));
    expect(narrow).toHaveLength(wide.length);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(60);
    expect(narrow[1]).toMatch(/^inputs\/long-name-.*… +pass +0 +3$/);
    expect(renderSummary(run)).not.toContain('\u001b[');
    const coloured = renderSummary(run, { color: true });
    expect(coloured).toContain('\u001b[31mFAIL   \u001b[0m');
    expect(coloured).toContain('\u001b[32mpass   \u001b[0m');
  });

  it('takes width and colour from a terminal only, and honours NO_COLOR', () => {
    expect(terminal({ isTTY: false, columns: 80 }, {})).toEqual({ color: false });
    expect(terminal({ isTTY: true, columns: 80 }, {})).toEqual({ width: 80, color: true });
    expect(terminal({ isTTY: true, columns: 80 }, { NO_COLOR: '1' })).toEqual({ width: 80, color: false });
  });
});
