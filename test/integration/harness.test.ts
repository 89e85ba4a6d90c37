// `plugin-run harness` end to end: real specs (YAML and JSON) against the built fixtures, run
// through the CLI with real workers. Crashing, hanging and exiting cases settle as outcomes,
// reports are written and parsed back, a bad spec is refused with a pointer into it, and a
// run of 300 crashes leaves no worker behind.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, fixture, isAlive, pluginRun } from '../helpers/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-harness-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SUM = 'uint32_t sum_bytes(const uint8_t *data, size_t len)';

/** Writes a file under the test's temporary directory and returns its path. */
function write(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

interface JsonOutcome {
  name: string;
  outcome: 'pass' | 'fail';
  reason?: string;
  actual: { ok: boolean; result?: unknown; error?: { code: string; signal?: string; exitCode?: number } };
  durationMs: number;
}

/**
 * Checks that `xml` is well-formed (balanced tags, quoted attributes, no raw `<` or stray `&`)
 * and returns its elements in document order with their attributes, unescaped.
 */
function parseXml(xml: string): Array<{ tag: string; attrs: Record<string, string> }> {
  const unescape = (text: string): string =>
    text.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] ?? String.fromCharCode(Number(e.slice(1))));
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const stack: string[] = [];
  const elements: Array<{ tag: string; attrs: Record<string, string> }> = [];
  let at = 0;
  while (at < body.length) {
    token.lastIndex = at;
    const match = token.exec(body);
    if (!match) throw new Error(`malformed XML at ${at}: ${JSON.stringify(body.slice(at, at + 40))}`);
    at = token.lastIndex;
    const [, closing, tag, attrText, selfClosing, text] = match;
    if (text !== undefined) {
      if (/&(?!(lt|gt|amp|quot|apos|#\d+);)/.test(text)) throw new Error(`stray & in ${JSON.stringify(text)}`);
      continue;
    }
    if (closing) {
      if (stack.pop() !== tag) throw new Error(`unbalanced </${tag}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const [, key, value] of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[key!] = unescape(value!);
    elements.push({ tag: tag!, attrs });
    if (!selfClosing) stack.push(tag!);
  }
  expect(stack).toEqual([]);
  return elements;
}

/** Pids of live processes whose working directory is `path` (the CLI's workers inherit it). */
function processesIn(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === path && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('plugin-run harness', () => {
  it('settles crashes, exits and hangs as outcomes: a crash expected as CRASHED passes, a wrong expectation fails (exit 1); json and junit reports', () => {
    const spec = write(
      'hostile/spec.yaml',
      `# one host, two workers; every crash takes only its own worker down
library: ${fixture('hostile')}
workers: 2
limits: { timeoutMs: 10s }
cases:
  - name: segfault is reported as CRASHED
    fn: int crash_segv(void)
    expect: { code: CRASHED, signal: SIGSEGV }
  - name: exit(3) is reported as CRASHED with its status
    fn: int exit_with(int code)
    args: [3]
    expect: { code: CRASHED, exitCode: 3 }
  - name: a hang is cut by the case's timeout
    fn: int sleep_forever(void)
    limits: { timeoutMs: 300ms }
    expect: { code: TIMEOUT }
  - name: expected a result, got a crash
    fn: int crash_abort(void)
    expect: { result: 0 }
  - name: returns after the crashes
    fn: int print_and_return(int v)
    args: [7]
    expect: { result: 7 }
`,
    );
    const reports = join(dir, 'hostile/reports');
    const run = pluginRun(['harness', spec, '--report', `json:${reports}/hostile.json`, '--report', `junit:${reports}/hostile.xml`], { timeoutMs: 60_000 });
    expect(run.stderr).not.toContain('\r'); // no progress bar off a terminal
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^CASE +OUTCOME +ACTUAL +MS$/m);
    expect(run.stdout).toMatch(/^segfault is reported as CRASHED +pass +CRASHED SIGSEGV +\d+$/m);
    expect(run.stdout).toMatch(/^exit\(3\) is reported as CRASHED with its status +pass +CRASHED exit 3 +\d+$/m);
    expect(run.stdout).toMatch(/^a hang is cut by the case's timeout +pass +TIMEOUT +\d+$/m);
    expect(run.stdout).toMatch(/^expected a result, got a crash +FAIL +CRASHED SIGABRT +\d+$/m);
    expect(run.stdout).toMatch(/^returns after the crashes +pass +7 +\d+$/m);
    expect(run.stdout).toContain('expected a result, got a crash (cases[3]): expected result 0, got CRASHED SIGABRT');
    expect(run.stdout).toMatch(/^5 cases: 4 passed, 1 failed in [\d.]+ s on 2 workers \(calls: .*CRASHED 3.*\)$/m);

    const json = JSON.parse(readFileSync(`${reports}/hostile.json`, 'utf8')) as { summary: Record<string, unknown>; outcomes: JsonOutcome[] };
    expect(json.summary).toMatchObject({ total: 5, ran: 5, passed: 4, failed: 1, workers: 2, interrupted: false, actual: { CRASHED: 3, TIMEOUT: 1, ok: 1 } });
    expect(json.outcomes.map((o) => [o.name, o.outcome, o.actual.ok ? o.actual.result : o.actual.error!.code])).toEqual([
      ['segfault is reported as CRASHED', 'pass', 'CRASHED'],
      ['exit(3) is reported as CRASHED with its status', 'pass', 'CRASHED'],
      ["a hang is cut by the case's timeout", 'pass', 'TIMEOUT'],
      ['expected a result, got a crash', 'fail', 'CRASHED'],
      ['returns after the crashes', 'pass', 7],
    ]);
    expect(json.outcomes[0]!.actual.error).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    expect(json.outcomes[1]!.actual.error).toMatchObject({ code: 'CRASHED', exitCode: 3 });
    expect(json.outcomes.every((o) => typeof o.durationMs === 'number' && o.durationMs >= 0)).toBe(true);

    const xml = parseXml(readFileSync(`${reports}/hostile.xml`, 'utf8'));
    // The crash where a result was expected did not return: a JUnit <error>, its type the code.
    expect(xml[0]).toMatchObject({ tag: 'testsuites', attrs: { tests: '5', failures: '0', errors: '1' } });
    expect(xml.filter((e) => e.tag === 'testsuite').map((e) => e.attrs.name)).toEqual(['spec.cases']);
    expect(xml.filter((e) => e.tag === 'testcase').map((e) => e.attrs.name)).toEqual(json.outcomes.map((o) => o.name));
    expect(xml.filter((e) => e.tag === 'failure')).toEqual([]);
    const errors = xml.filter((e) => e.tag === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attrs.type).toBe('CRASHED');
    expect(errors[0]!.attrs.message).toMatch(/^expected result 0, got CRASHED SIGABRT/);
  });

  it('calls a corpus fn once per file with its bytes; results are exact; junit has a suite per corpus entry, named after it', () => {
    write('types/corpus/one.bin', new Uint8Array([1]));
    write('types/corpus/three.bin', new Uint8Array([1, 1, 1]));
    write('types/corpus/sub/big.bin', new Uint8Array(1000).fill(255));
    write('types/corpus/.ignored', 'x');
    const spec = write(
      'types/spec.yaml',
      `library: ${fixture('types')}
cases:
  - name: adds
    fn: int add(int a, int b)
    args: [2, 3]
    expect: { result: 5 }
  - name: wrong expectation
    fn: int add(int a, int b)
    args: [2, 2]
    expect: { result: 5 }
  - name: sums hex bytes
    fn: ${SUM}
    args: [{ hex: "01 02 03" }]
    expect: { result: 6 }
  - name: 64-bit exact
    fn: uint64_t add_u64(uint64_t a, uint64_t b)
    args: [18446744073709551614, 1]
    expect: { result: 18446744073709551615 }
corpus:
  - fn: ${SUM}
    dir: corpus
    expect: { ok: true }
`,
    );
    const reports = join(dir, 'types/reports');
    const run = pluginRun(['harness', '--json', spec, '--report', `junit:${reports}/types.xml`]);
    expect(run.status).toBe(1);
    const result = JSON.parse(run.stdout) as { ok: boolean; outcomes: JsonOutcome[] };
    expect(result.ok).toBe(false);
    expect(result.outcomes.map((o) => [o.name, o.outcome, o.actual.result])).toEqual([
      ['adds', 'pass', 5],
      ['wrong expectation', 'fail', 4],
      ['sums hex bytes', 'pass', 6],
      ['64-bit exact', 'pass', { $bigint: '18446744073709551615' }],
      ['corpus/one.bin', 'pass', 1],
      ['corpus/sub/big.bin', 'pass', 255_000],
      ['corpus/three.bin', 'pass', 3],
    ]);
    // 64-bit results past 2^53 are tagged, so that JSON.parse reads them exactly (as a spec takes them).
    expect(run.stdout).toContain('"result":{"$bigint":"18446744073709551615"}');
    expect(result.outcomes[1]!.reason).toBe('expected result 5, got 4');
    const suites = parseXml(readFileSync(`${reports}/types.xml`, 'utf8')).filter((e) => e.tag === 'testsuite');
    expect(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures])).toEqual([
      ['spec.cases', '4', '1'],
      ['spec.corpus', '3', '0'],
    ]);
  });

  it('exits 0 when every outcome passes; --timeout and --workers override the spec', () => {
    const spec = write(
      'pass/spec.json',
      JSON.stringify({
        library: fixture('hostile'),
        workers: 1,
        cases: [
          { name: 'prints and returns', fn: 'int print_and_return(int v)', args: [42], expect: { result: 42 } },
          { name: 'sleeps past the CLI timeout', fn: 'int sleep_forever(void)', expect: { code: 'TIMEOUT' } },
          { name: 'any success', fn: 'int print_and_return(int v)', args: [1], expect: { ok: true } },
        ],
      }),
    );
    const run = pluginRun(['harness', spec, '--timeout', '300ms', '--workers', '2', '--json']);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { ok: boolean; summary: { passed: number; failed: number; workers: number } };
    expect(result).toMatchObject({ ok: true, summary: { passed: 3, failed: 0, workers: 2 } });
    expect(pluginRun(['harness', spec, '--timeout', '300ms', '--failures-only']).stdout).toMatch(/^3 cases: 3 passed, 0 failed/m);
  });

  it("sets the workers' environment from the spec's env and passEnv, and from --env and --pass-env", () => {
    const getenv = 'const char *getenv(const char *name)';
    const spec = write(
      'env/spec.yaml',
      [
        'library: libc.so.6',
        'env: { AIRLOCK_SPEC_VAR: from-spec, AIRLOCK_OVERRIDDEN: spec }',
        'passEnv: [AIRLOCK_PASSED]',
        'cases:',
        `  - { name: set, fn: '${getenv}', args: [AIRLOCK_SPEC_VAR], expect: { result: from-spec } }`,
        `  - { name: passed, fn: '${getenv}', args: [AIRLOCK_PASSED], expect: { result: from-caller } }`,
        `  - { name: not passed, fn: '${getenv}', args: [AIRLOCK_NOT_PASSED], expect: { result: null } }`,
        `  - { name: overridden, fn: '${getenv}', args: [AIRLOCK_OVERRIDDEN], expect: { result: cli } }`,
        `  - { name: cli passed, fn: '${getenv}', args: [AIRLOCK_CLI_PASSED], expect: { result: also } }`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, AIRLOCK_PASSED: 'from-caller', AIRLOCK_NOT_PASSED: 'x', AIRLOCK_CLI_PASSED: 'also' };
    const run = pluginRun(['harness', spec, '--env', 'AIRLOCK_OVERRIDDEN=cli', '--pass-env', 'AIRLOCK_CLI_PASSED', '--json'], { env });
    const result = JSON.parse(run.stdout) as { ok: boolean; outcomes: JsonOutcome[] };
    expect(result.outcomes.map((o) => [o.name, o.outcome, o.actual.result])).toEqual([
      ['set', 'pass', 'from-spec'],
      ['passed', 'pass', 'from-caller'],
      ['not passed', 'pass', null],
      ['overridden', 'pass', 'cli'],
      ['cli passed', 'pass', 'also'],
    ]);
    expect(run.status).toBe(0);
    const bad = write('env/bad.json', JSON.stringify({ library: 'libc.so.6', env: { 'NOT-A-NAME': 'x' }, cases: [] }));
    const refused = pluginRun(['harness', bad]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('an environment variable name is letters, digits and _');
  });

  it('exits 2 for a bad spec, pointing into it (path, line and column), before running anything', () => {
    const spec = write(
      'bad/spec.yaml',
      `library: ${fixture('types')}
cases:
  - name: fine
    fn: int add(int a, int b)
    args: [1, 2]
    expect: { result: 3 }
  - name: misspelt expectation
    fn: int add(int a, int b)
    args: [1, 2]
    expect: { reslt: 3 }
`,
    );
    const run = pluginRun(['harness', spec]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${spec}:10:5: cases[1].expect: expected { result: … }, { code: "CRASHED", … } or { ok: true }, got an object with keys reslt`);
    const json = pluginRun(['harness', '--json', spec]);
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', problems: [{ path: 'cases[1].expect', line: 10, column: 5 }] } });
    const badArgument = write('bad/args.json', JSON.stringify({ library: fixture('types'), cases: [{ name: 'a', fn: 'int add(int a, int b)', args: [1, 'x'], expect: { ok: true } }] }));
    expect(pluginRun(['harness', badArgument]).stderr).toContain('cases[0].args[1]: argument 2 (b: int) expects an integer');
    expect(pluginRun(['harness', join(dir, 'bad/none.yaml')]).status).toBe(2);
    expect(pluginRun(['harness', spec, '--report', 'html:x.html']).status).toBe(2);
    expect(pluginRun(['harness', spec, '--workers', '0']).status).toBe(2);
  });

  it('runs 300 crashing inputs through one host with 2 workers, every one CRASHED, and leaves no worker', async () => {
    const cases = Array.from({ length: 300 }, (_, i) => ({ name: `crash ${i}`, fn: 'int crash_segv(void)', expect: { code: 'CRASHED', signal: 'SIGSEGV' } }));
    const runDir = join(dir, 'crash300');
    const spec = write('crash300/spec.json', JSON.stringify({ library: fixture('hostile'), workers: 2, cases }));
    const report = join(runDir, 'report.json');
    // The CLI runs in a directory of its own, which its workers inherit: that is how they are found.
    const seen = new Set<number>();
    const poll = setInterval(() => {
      for (const pid of processesIn(runDir)) seen.add(pid);
    }, 250);
    const started = Date.now();
    const { status, stdout } = await new Promise<{ status: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'harness', spec, '--report', `json:${report}`], { cwd: runDir, timeout: 150_000, maxBuffer: 16 << 20 }, (error, out) => {
        resolve({ status: error ? ((error as { code?: number }).code ?? -1) : 0, stdout: out });
      });
    });
    clearInterval(poll);
    const elapsed = Date.now() - started;
    expect(status).toBe(0);
    expect(stdout).toMatch(/^300 cases: 300 passed, 0 failed in [\d.]+ s on 2 workers \(calls: CRASHED 300\)$/m);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { outcomes: JsonOutcome[] };
    expect(json.outcomes).toHaveLength(300);
    expect(json.outcomes.every((o) => o.outcome === 'pass' && o.actual.error?.code === 'CRASHED' && o.actual.error.signal === 'SIGSEGV')).toBe(true);
    // The poll saw the CLI and its workers while they ran; none of them is left now.
    expect(seen.size).toBeGreaterThan(2);
    expect(processesIn(runDir)).toEqual([]);
    expect([...seen].filter(isAlive)).toEqual([]);
    console.log(`harness: 300 crashes on 2 workers in ${(elapsed / 1000).toFixed(1)} s`);
  }, 160_000);
});
