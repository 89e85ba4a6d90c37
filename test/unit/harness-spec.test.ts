// Tests of the harness spec (packages/host/src/harness/spec.ts): JSON and YAML parse to the same
// cases, values are exact (64-bit integers, bytes, special floats), and every problem points
// into the spec by path and, where the text shows it, by line. Also the judging of outcomes
// and the reports, which need no worker.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallSettlement, type HarnessRun, judge, sameValue } from '../../packages/host/src/harness/run-harness.js';
import { junitReport, parseReportTarget } from '../../packages/host/src/harness/reports.js';
import { type HarnessSpec, SpecError, type SpecProblem, loadSpec, parseSpec } from '../../packages/host/src/harness/spec.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-harness-spec-'));
  writeFileSync(join(dir, 'libfake.so'), '');
  mkdirSync(join(dir, 'corpus/nested'), { recursive: true });
  writeFileSync(join(dir, 'corpus/b.bin'), 'b');
  writeFileSync(join(dir, 'corpus/a.bin'), 'a');
  writeFileSync(join(dir, 'corpus/nested/c.bin'), 'c');
  writeFileSync(join(dir, 'corpus/.hidden'), 'x');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function json(spec: unknown): HarnessSpec {
  return parseSpec(typeof spec === 'string' ? spec : JSON.stringify(spec), { file: join(dir, 'spec.json'), format: 'json' });
}

function yaml(text: string): HarnessSpec {
  return parseSpec(text, { file: join(dir, 'spec.yaml'), format: 'yaml' });
}

/** The problems a bad spec is rejected with. */
function problems(parse: () => unknown): SpecProblem[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).problems;
  }
  throw new Error('the spec was accepted');
}

const ADD = 'int add(int a, int b)';

describe('harness spec: valid specs', () => {
  it('parses JSON and YAML to the same cases; the library is relative to the spec file', () => {
    const fromJson = json({ library: './libfake.so', workers: 2, cases: [{ name: 'adds', fn: ADD, args: [1, 2], expect: { result: 3 } }] });
    const fromYaml = yaml(`
library: ./libfake.so
workers: 2
cases:
  - name: adds
    fn: ${ADD}
    args: [1, 2]
    expect: { result: 3 }
`);
    expect(fromJson.library).toBe(join(dir, 'libfake.so'));
    expect(fromJson.workers).toBe(2);
    expect(fromJson.cases).toEqual([{ name: 'adds', group: 'cases', suite: 'cases', path: 'cases[0]', fn: ADD, args: [1, 2], abi: 'auto', limits: {}, expect: { result: 3 } }]);
    expect(fromYaml.cases).toEqual(fromJson.cases);
    expect({ ...fromYaml, file: '' }).toEqual({ ...fromJson, file: '' });
  });

  it('takes workers as groups of local and launched ones, and ship, as createHost does', () => {
    const spec = yaml(`
library: ./libfake.so
ship: true
workers:
  - count: 2
  - { count: 4, launcher: [ssh, build-box] }
cases:
  - { name: n, fn: int getpid(void), expect: { ok: true } }
`);
    expect(spec.workers).toEqual([{ count: 2 }, { count: 4, launcher: ['ssh', 'build-box'] }]);
    expect(spec.ship).toBe(true);
    const found = problems(() => yaml(`library: ./libfake.so\nworkers:\n  - { count: 2, launcher: ssh }\ncases: []\n`));
    expect(found).toEqual([{ path: 'workers[0].launcher', message: expect.stringContaining('expected array, received string'), line: 3, column: expect.any(Number) }]);
  });

  it('leaves a bare library name to the loader and fills defaults (no args, abi from the spec)', () => {
    const spec = json({ library: 'libc.so.6', abi: 'c', cases: [{ name: 'n', fn: 'int getpid(void)', expect: { ok: true } }] });
    expect(spec.library).toBe('libc.so.6');
    expect(spec.cases[0]).toMatchObject({ abi: 'c', args: [], expect: { ok: true } });
    const vaccel = json({ library: 'libc.so.6', cases: [{ name: 'v', fn: 'f', abi: 'vaccel', expect: { ok: true } }] });
    expect(vaccel.cases[0]!.args).toEqual({});
  });

  it('carries 64-bit integers exactly: bare literals (JSON and YAML) and {"$bigint": …}', () => {
    const prototype = 'uint64_t add_u64(uint64_t a, uint64_t b)';
    const text = `{"library":"libc.so.6","cases":[{"name":"big","fn":"${prototype}","args":[18446744073709551615, {"$bigint":"9223372036854775808"}],"expect":{"result":{"$bigint":"-0x10"}}}]}`;
    const spec = json(text);
    expect(spec.cases[0]!.args).toEqual([18446744073709551615n, 9223372036854775808n]);
    expect((spec.cases[0]!.expect as { result: unknown }).result).toBe(-16n);
    const fromYaml = yaml(`library: libc.so.6\ncases:\n  - { name: big, fn: "${prototype}", args: [18446744073709551615, 7], expect: { result: 9007199254740993 } }\n`);
    expect(fromYaml.cases[0]!.args).toEqual([18446744073709551615n, 7]);
    expect(typeof (fromYaml.cases[0]!.args as unknown[])[1]).toBe('number');
    expect((fromYaml.cases[0]!.expect as { result: unknown }).result).toBe(9007199254740993n);
  });

  it('turns {"hex"}, {"base64"} into bytes and {"$float"} into special numbers; other objects stay', () => {
    const spec = json({
      library: 'libc.so.6',
      cases: [
        { name: 'hex', fn: 'uint32_t sum_bytes(const uint8_t *data, size_t len)', args: [{ hex: '00 ff:10' }], expect: { result: 271 } },
        { name: 'b64', fn: 'uint32_t sum_bytes(const uint8_t *data, size_t len)', args: [{ base64: 'AP8Q' }], expect: { ok: true } },
        { name: 'floats', fn: 'double div(double a, double b)', args: [1, 0], expect: { result: [{ $float: 'NaN' }, { $float: '-0' }, { hex: 'aa', other: 1 }] } },
      ],
    });
    expect(spec.cases[0]!.args).toEqual([new Uint8Array([0, 255, 16])]);
    expect(spec.cases[1]!.args).toEqual([new Uint8Array([0, 255, 16])]);
    const result = (spec.cases[2]!.expect as { result: unknown[] }).result;
    expect(Number.isNaN(result[0])).toBe(true);
    expect(Object.is(result[1], -0)).toBe(true);
    expect(result[2]).toEqual({ hex: 'aa', other: 1 });
  });

  it('takes limits as numbers or in units, and error expectations with optional fields', () => {
    const spec = yaml(`
library: libc.so.6
limits: { timeoutMs: 2s, memoryBytes: 64M, cpuMs: 1500, maxOpenFiles: 32 }
cases:
  - name: crash
    fn: int crash_segv(void)
    limits: { timeoutMs: 250ms }
    expect: { code: CRASHED, signal: segv }
  - name: limit
    fn: int malloc_bomb(void)
    expect: { code: LIMIT_EXCEEDED, limit: memory }
  - name: exit
    fn: int exit_with(int code)
    args: [7]
    expect: { code: CRASHED, exitCode: 7 }
`);
    expect(spec.limits).toEqual({ timeoutMs: 2000, memoryBytes: 64 * 1024 * 1024, cpuMs: 1500, maxOpenFiles: 32 });
    expect(spec.cases.map((c) => [c.limits, c.expect])).toEqual([
      [{ timeoutMs: 250 }, { code: 'CRASHED', signal: 'SIGSEGV' }],
      [{}, { code: 'LIMIT_EXCEEDED', limit: 'memory' }],
      [{}, { code: 'CRASHED', exitCode: 7 }],
    ]);
  });

  it('expands a corpus: one case per file, sorted, recursive, dot files skipped', () => {
    const spec = json({ library: './libfake.so', corpus: [{ fn: 'uint32_t sum_bytes(const uint8_t *data, size_t len)', dir: 'corpus', expect: { ok: true } }] });
    expect(spec.cases.map((c) => [c.name, c.group, c.suite, c.file])).toEqual([
      ['corpus/a.bin', 'corpus[0]', 'corpus', join(dir, 'corpus/a.bin')],
      ['corpus/b.bin', 'corpus[0]', 'corpus', join(dir, 'corpus/b.bin')],
      ['corpus/nested/c.bin', 'corpus[0]', 'corpus', join(dir, 'corpus/nested/c.bin')],
    ]);
    expect(spec.cases[0]!.args).toBeUndefined();
    const named = json({ library: 'libc.so.6', corpus: [{ name: 'inputs', fn: 'size_t strlen(const char *s)', dir: './corpus/nested', expect: { ok: true } }] });
    expect(named.cases.map((c) => [c.name, c.suite])).toEqual([['inputs/c.bin', 'inputs']]);
  });

  it('runs corpus files in natural order (2 before 10)', () => {
    mkdirSync(join(dir, 'numbered'), { recursive: true });
    for (const name of ['in10.bin', 'in2.bin', 'in1.bin', 'in100.bin']) writeFileSync(join(dir, 'numbered', name), name);
    const spec = json({ library: 'libc.so.6', corpus: [{ fn: 'size_t strlen(const char *s)', dir: 'numbered', expect: { ok: true } }] });
    expect(spec.cases.map((c) => c.name)).toEqual(['numbered/in1.bin', 'numbered/in2.bin', 'numbered/in10.bin', 'numbered/in100.bin']);
  });

  it('refuses an empty corpus directory (it would pass without testing anything), naming it', () => {
    mkdirSync(join(dir, 'empty/.git'), { recursive: true });
    writeFileSync(join(dir, 'empty/.keep'), '');
    const found = problems(() => json({ library: 'libc.so.6', corpus: [{ fn: 'size_t strlen(const char *s)', dir: 'empty', expect: { ok: true } }] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'corpus[0].dir', message: `no input files in "empty" (looked in ${join(dir, 'empty')}; dot files are skipped): a corpus needs at least one` });
  });

  it('loads a file by extension: .json strictly as JSON, anything else as YAML', () => {
    writeFileSync(join(dir, 'load.yml'), 'library: libc.so.6\ncases: [{ name: a, fn: "int abs(int)", args: [-1], expect: { result: 1 } }]\n');
    expect(loadSpec(join(dir, 'load.yml')).cases).toHaveLength(1);
    writeFileSync(join(dir, 'load.json'), 'library: libc.so.6\n');
    expect(problems(() => loadSpec(join(dir, 'load.json')))[0]!.message).toMatch(/^not valid JSON/);
    expect(problems(() => loadSpec(join(dir, 'absent.yaml')))).toEqual([{ path: '', message: 'cannot read the spec: no such file' }]);
  });
});

describe('harness spec: problems point into the spec', () => {
  it('rejects unknown keys at every level, naming the key, its line and the allowed keys', () => {
    const found = problems(() =>
      yaml(`library: libc.so.6
color: red
cases:
  - name: a
    fn: int abs(int)
    args: [1]
    expect: { result: 1 }
    retries: 3
  - name: b
    fn: int abs(int)
    args: [1]
    limits: { timeout: 5 }
    expect: { code: CRASHED, sig: SIGSEGV }
`),
    );
    expect(found.map((p) => [p.path, p.line])).toEqual([
      ['color', 2],
      ['cases[0].retries', 8],
      ['cases[1].limits.timeout', 12],
      ['cases[1].expect.sig', 13],
    ]);
    expect(found[1]!.message).toBe('unknown key (allowed: name, fn, args, abi, limits, expect)');
  });

  it('says which expectation shapes exist when expect fits none, on its line', () => {
    const found = problems(() =>
      yaml(`library: libc.so.6
cases:
  - name: fine
    fn: int abs(int)
    args: [1]
    expect: { result: 1 }
  - name: typo
    fn: int abs(int)
    args: [1]
    expect:
      resut: 1
  - name: none
    fn: int abs(int)
    args: [1]
`),
    );
    expect(found).toEqual([
      { path: 'cases[1].expect', line: 10, column: 5, message: 'expected { result: … }, { code: "CRASHED", … } or { ok: true }, got an object with keys resut' },
      // A missing key points at the entry that lacks it.
      { path: 'cases[2].expect', line: 12, column: 5, message: 'missing (expected { result: … }, { code: "CRASHED", … } or { ok: true })' },
    ]);
  });

  it('quotes bad values: codes, signals, limits, workers, bytes, bigints', () => {
    const found = problems(() =>
      json({
        library: 'libc.so.6',
        workers: 0,
        limits: { timeoutMs: 'soon', memoryBytes: -1 },
        cases: [
          { name: 'a', fn: 'int f(void)', expect: { code: 'CRASHD' } },
          { name: 'b', fn: 'int f(void)', expect: { code: 'TIMEOUT', signal: 'SIGSEGV', limit: 'memory' } },
          { name: 'c', fn: 'int f(void)', expect: { code: 'CRASHED', signal: 'SIGFOO' } },
          { name: 'd', fn: 'uint32_t g(const uint8_t *d, size_t n)', args: [{ hex: 'abc' }], expect: { ok: false } },
          { name: 'e', fn: 'uint64_t h(uint64_t x)', args: [{ $bigint: '12x' }], expect: { result: { base64: '!!' } } },
        ],
      }),
    );
    const byPath = Object.fromEntries(found.map((p) => [p.path, p.message]));
    expect(byPath).toMatchObject({
      workers: expect.stringContaining('(got 0)'),
      'limits.timeoutMs': expect.stringContaining('"soon"'),
      'limits.memoryBytes': expect.stringContaining('got -1'),
      'cases[0].expect.code': expect.stringMatching(/CRASHED.*\(got "CRASHD"\)/),
      'cases[1].expect.signal': 'signal applies to code CRASHED, not TIMEOUT',
      'cases[1].expect.limit': 'limit applies to code LIMIT_EXCEEDED, not TIMEOUT',
      'cases[2].expect.signal': expect.stringContaining('"SIGFOO"'),
      'cases[3].args[0].hex': expect.stringContaining('"abc"'),
      'cases[3].expect.ok': expect.stringContaining('(got false)'),
      'cases[4].args[0].$bigint': expect.stringContaining('"12x"'),
      'cases[4].expect.result.base64': expect.stringContaining('"!!"'),
    });
    // JSON positions come from the same document API: every problem has a line.
    expect(found.every((p) => p.line === 1)).toBe(true);
  });

  it('checks arguments against the prototype before anything runs, pointing at the argument', () => {
    const text = `{
  "library": "libc.so.6",
  "cases": [
    { "name": "a", "fn": "int add(int a, int b)", "args": [1, "two"], "expect": { "result": 3 } },
    { "name": "b", "fn": "int add(int a, int b)", "args": [1], "expect": { "ok": true } },
    { "name": "c", "fn": "int add(int a, int b", "expect": { "ok": true } },
    { "name": "a", "fn": "int add(int a, int b)", "args": [1], "expect": { "code": "INVALID_ARGUMENT" } },
    { "name": "e", "fn": "uint8_t u8(uint8_t x)", "args": [256], "expect": { "ok": true } }
  ]
}`;
    const found = problems(() => json(text));
    expect(found.map((p) => [p.path, p.line])).toEqual([
      ['cases[0].args[1]', 4],
      ['cases[1].args', 5],
      ['cases[2].fn', 6],
      ['cases[3].name', 7],
      ['cases[4].args[0]', 8],
    ]);
    expect(found[0]!.message).toBe('argument 2 (b: int) expects an integer from -2147483648 to 2147483647, got "two" (string)');
    expect(found[3]!.message).toBe('"a" is already the name of cases[0]');
    expect(found[4]!.message).toContain('got 256');
  });

  it('checks paths and corpus functions: missing library, missing dir, a fn that does not take bytes', () => {
    const found = problems(() =>
      yaml(`library: ./nowhere/libx.so
corpus:
  - fn: int add(int a, int b)
    dir: corpus
    expect: { ok: true }
  - fn: size_t strlen(const char *s)
    dir: no-such-dir
    expect: { ok: true }
`),
    );
    expect(found.map((p) => [p.path, p.line])).toEqual([
      ['library', 1],
      ['corpus[0].fn', 3],
      ['corpus[1].dir', 7],
    ]);
    expect(found[0]!.message).toContain(join(dir, 'nowhere/libx.so'));
    expect(found[1]!.message).toContain('takes 2 arguments');
    expect(found[2]!.message).toContain('"no-such-dir"');
    expect(problems(() => yaml('library: libc.so.6\n'))[0]!.message).toContain('nothing to run');
  });

  it('reports syntax errors with their line, in JSON and in YAML', () => {
    const badJson = problems(() => json('{\n  "library": "libc.so.6",\n  "cases": [ }\n}'));
    expect(badJson).toHaveLength(1);
    expect(badJson[0]).toMatchObject({ path: '', line: 3 });
    expect(badJson[0]!.message).toMatch(/^not valid JSON: /);
    const badYaml = problems(() => yaml('library: libc.so.6\ncases:\n  - name: a\n   fn: b\n'));
    expect(badYaml[0]).toMatchObject({ path: '', line: 4 });
    expect(badYaml[0]!.message).toMatch(/^not valid YAML: /);
    const duplicate = problems(() => yaml('library: a\nlibrary: b\n'));
    expect(duplicate[0]).toMatchObject({ line: 2 });
    expect(problems(() => json('[1, 2]'))[0]!.message).toContain('expected object');
  });

  it('formats the message compiler-style: file:line:column: path: message', () => {
    try {
      yaml('library: libc.so.6\ncases:\n  - { name: a, fn: "int abs(int)", expect: { ok: true }, oops: 1 }\n');
    } catch (error) {
      expect((error as Error).message).toBe(`${join(dir, 'spec.yaml')}:3:58: cases[0].oops: unknown key (allowed: name, fn, args, abi, limits, expect)`);
      return;
    }
    throw new Error('accepted');
  });
});

describe('harness: judging outcomes', () => {
  const ok = (result: unknown): CallSettlement => ({ ok: true, result });
  const failed = (code: string, fields: Record<string, unknown> = {}): CallSettlement => ({ ok: false, error: { code, message: `it failed: ${code}`, ...fields } as never });

  it('compares results deeply, numbers with bigints by value, bytes with arrays', () => {
    expect(sameValue(5, 5n)).toBe(true);
    expect(sameValue(2n ** 64n - 1n, 18446744073709551615n)).toBe(true);
    expect(sameValue(2 ** 53, 2n ** 53n + 1n)).toBe(false);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
    expect(sameValue(new Uint8Array([1, 2]), [1, 2])).toBe(true);
    expect(sameValue({ result: 0, out: [new Int32Array([0, 1])] }, { result: 0, out: [[0, 1]] })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue('3', 3)).toBe(false);
  });

  it('passes or fails each expectation, saying why', () => {
    expect(judge({ result: 3 }, ok(3))).toBeUndefined();
    expect(judge({ result: 4 }, ok(3))).toBe('expected result 4, got 3');
    expect(judge({ result: 4 }, failed('CRASHED', { signal: 'SIGSEGV' }))).toBe('expected result 4, got CRASHED SIGSEGV: it failed: CRASHED');
    expect(judge({ ok: true }, ok(null))).toBeUndefined();
    expect(judge({ ok: true }, failed('TIMEOUT'))).toMatch(/^expected success, got TIMEOUT/);
    expect(judge({ code: 'CRASHED' }, failed('CRASHED', { signal: 'SIGABRT' }))).toBeUndefined();
    expect(judge({ code: 'CRASHED', signal: 'SIGSEGV' }, failed('CRASHED', { signal: 'SIGABRT' }))).toMatch(/^expected CRASHED \(SIGSEGV\), got CRASHED SIGABRT/);
    expect(judge({ code: 'CRASHED', exitCode: 3 }, failed('CRASHED', { exitCode: 3 }))).toBeUndefined();
    expect(judge({ code: 'LIMIT_EXCEEDED', limit: 'cpu' }, failed('LIMIT_EXCEEDED', { limit: 'memory' }))).toMatch(/got LIMIT_EXCEEDED memory/);
    expect(judge({ code: 'PLUGIN_ERROR', message: 'negative' }, failed('PLUGIN_ERROR'))).toMatch(/message containing "negative"/);
    expect(judge({ code: 'CRASHED' }, ok(1))).toBe('expected CRASHED, got result 1');
  });
});

describe('harness: reports', () => {
  it('parses --report targets and rejects others, quoting them', () => {
    expect(parseReportTarget('junit:out/r.xml')).toEqual({ format: 'junit', file: 'out/r.xml' });
    expect(parseReportTarget('json:C:/x.json')).toEqual({ format: 'json', file: 'C:/x.json' });
    expect(() => parseReportTarget('xml:r.xml')).toThrow('got "xml:r.xml"');
    expect(() => parseReportTarget('json:')).toThrow('json:FILE');
  });

  it('escapes names, messages and plugin output in JUnit XML (and drops characters XML cannot carry)', () => {
    const run: HarnessRun = {
      spec: '/x/spec.yaml',
      library: '/x/lib"&<>.so',
      startedAt: '2026-01-01T00:00:00.000Z',
      summary: { total: 1, ran: 1, passed: 0, failed: 1, groups: 0, interrupted: false, durationMs: 5, workers: 1, actual: { CRASHED: 1 } },
      groups: [],
      outcomes: [
        {
          name: `a <b> & "c" 'd'\n`,
          group: 'cases',
          suite: 'cases',
          path: 'cases[0]',
          fn: 'int f(void)',
          outcome: 'fail',
          expect: { result: 1 },
          actual: { ok: false, error: { code: 'CRASHED', message: 'boom <]]>', signal: 'SIGSEGV', output: ['bell\u0007 & <tag>', 'ok'] } },
          reason: 'expected result 1, got CRASHED SIGSEGV: boom <]]>',
          durationMs: 4,
        },
      ],
    };
    const xml = junitReport(run);
    expect(xml).toContain('name="a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;&#10;"');
    expect(xml).toContain('message="expected result 1, got CRASHED SIGSEGV: boom &lt;]]&gt;"');
    expect(xml).toContain('bell\uFFFD &amp; &lt;tag&gt;');
    expect(xml).toContain('value="/x/lib&quot;&amp;&lt;&gt;.so"');
    expect(xml).not.toContain('\u0007');
  });
});
