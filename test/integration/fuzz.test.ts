// `plugin-run fuzz` against the decoder fixture's planted bugs (test/fixtures/c/decoder.c),
// through the CLI with real workers: seeds written here, a bounded number of runs. The same seed
// and corpus make the same run (inputs, new corpus entries, groups, kept and minimized inputs);
// what it finds is grouped and kept like the harness's failures and replays the same way; bad
// targets are refused in one line (exit 2).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pluginRun } from '../helpers/fixtures.js';

const DECODE = 'int decode(const uint8_t *data, size_t len)';
/** Every signature the decoder's bugs can have when a call is expected to succeed (decoder.c). */
const KNOWN = new Set([
  'CRASHED SIGSEGV in decode: decode: bad tag at <addr>, length <n>',
  'CRASHED SIGSEGV in decode',
  'CRASHED SIGABRT in decode: decode: magic at offset <n>',
  'TIMEOUT in decode: decode: waiting for more input',
]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-fuzz-'));
  mkdirSync(join(dir, 'seeds'));
  // Seeds a mutation or two away from bugs: 'V' → 'W' (returns 1), 0xEC → 0xEE or 0xEF (crashes).
  writeFileSync(join(dir, 'seeds/seed-1'), 'Vabc');
  writeFileSync(join(dir, 'seeds/seed-2'), new Uint8Array([0xec, 0x78, 0x79, 0x7a]));
  writeFileSync(join(dir, 'seeds/seed-3'), 'hello');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface FuzzJson {
  ok: boolean;
  seed: number;
  execs: number;
  stoppedBy: string;
  corpus: { dir: string; initial: number; size: number; added: string[] };
  failed: number;
  groups: Array<{ id: string; signature: string; count: number; examples: string[]; replay?: string; minimized?: { from?: string; fromBytes: number; bytes: number; file?: string } }>;
}

/** Fuzzes a fresh copy of the seeds; returns the JSON and where the copy and crashes are. */
function fuzz(name: string, seed: number): { run: FuzzJson; status: number; corpus: string; crashes: string } {
  const corpus = join(dir, name, 'corpus');
  const crashes = join(dir, name, 'crashes');
  cpSync(join(dir, 'seeds'), corpus, { recursive: true });
  const args = ['fuzz', fixture('decoder'), DECODE, '--corpus', corpus, '--crashes', crashes, '--runs', '400', '--seed', String(seed), '--workers', '2', '--timeout', '1s', '--minimize', '--minimize-tries', '60', '--json'];
  const { status, stdout } = pluginRun(args, { timeoutMs: 120_000 });
  return { run: JSON.parse(stdout) as FuzzJson, status, corpus, crashes };
}

/** What must repeat with the seed: everything but paths' directories and times. */
function repeatable(run: FuzzJson): unknown {
  return {
    execs: run.execs,
    size: run.corpus.size,
    added: run.corpus.added.map((file) => basename(file)),
    failed: run.failed,
    groups: run.groups.map((g) => ({ signature: g.signature, count: g.count, examples: g.examples.map((file) => basename(file)), minimized: g.minimized && { ...g.minimized, from: basename(g.minimized.from!), file: g.minimized.file && basename(g.minimized.file) } })),
  };
}

describe('plugin-run fuzz', () => {
  it('makes the same run from the same seed, keeps new outcomes in the corpus, and groups, keeps and minimizes what fails', () => {
    const first = fuzz('first', 11);
    const again = fuzz('again', 11);
    expect(repeatable(again.run)).toEqual(repeatable(first.run));

    const { run, status, corpus, crashes } = first;
    expect(run.seed).toBe(11);
    expect(run.stoppedBy).toBe('runs');
    expect(run.execs).toBe(3 + 400);
    // New outcomes joined the corpus, written into its dir beside the seeds.
    expect(run.corpus.initial).toBe(3);
    expect(run.corpus.size).toBe(3 + run.corpus.added.length);
    expect(readdirSync(corpus).sort()).toEqual(['seed-1', 'seed-2', 'seed-3', ...run.corpus.added.map((file) => basename(file))].sort());
    // It found something (the seed makes it so), each group one of the decoder's bugs.
    expect(run.groups.length).toBeGreaterThan(0);
    expect(status).toBe(1);
    expect(run.ok).toBe(false);
    expect(run.failed).toBe(run.groups.reduce((sum, g) => sum + g.count, 0));
    for (const group of run.groups) {
      expect(KNOWN.has(group.signature)).toBe(true);
      expect(group.examples.length).toBeGreaterThan(0);
      expect(group.examples.length).toBeLessThanOrEqual(Math.min(3, group.count));
      expect(new Set(group.examples).size).toBe(group.examples.length);
      for (const example of group.examples) {
        expect(basename(example).startsWith(`${group.id}-`)).toBe(true);
        expect(JSON.parse(readFileSync(`${example}.json`, 'utf8'))).toMatchObject({ signature: group.signature, call: { fn: DECODE, limits: { timeoutMs: 1000 } } });
      }
      expect(group.replay).toBe(`plugin-run harness --replay ${group.examples[0]}`);
      expect(group.minimized!.bytes).toBeLessThanOrEqual(group.minimized!.fromBytes);
      if (group.minimized!.file !== undefined) expect(readFileSync(group.minimized!.file).length).toBe(group.minimized!.bytes);
    }
    // Kept: at most three inputs per group, and the minimized ones, each with its record.
    const kept = readdirSync(crashes).filter((name) => !name.endsWith('.json'));
    const minimized = run.groups.filter((g) => g.minimized?.file !== undefined).length;
    expect(kept).toHaveLength(run.groups.reduce((sum, g) => sum + g.examples.length, 0) + minimized);
    for (const name of kept) expect(existsSync(join(crashes, `${name}.json`))).toBe(true);

    // A found input replays with its signature.
    const group = run.groups[0]!;
    const replayed = pluginRun(['harness', '--json', '--replay', group.examples[0]!]);
    expect(replayed.status).toBe(1);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ ok: false, reproduced: true, signature: group.signature });
  }, 300_000);

  it('finds a crash behind a 4-byte magic prefix by mutation, stepping through inputs whose outcome was new, and keeps it', () => {
    // magic.c: parse() returns how many bytes of "FUZZ" its input starts with and segfaults on
    // all four. A seed of 'AAAA' is 2^32 guesses away by chance; each byte found is a new
    // result, kept in the corpus, and mutated further. The seeded run is the same on any
    // machine: its number of runs is bounded, not its time.
    const corpus = join(dir, 'magic', 'corpus');
    const crashes = join(dir, 'magic', 'crashes');
    mkdirSync(corpus, { recursive: true });
    writeFileSync(join(corpus, 'seed'), 'AAAA');
    const PARSE = 'int parse(const uint8_t *data, size_t len)';
    const args = ['fuzz', fixture('magic'), PARSE, '--corpus', corpus, '--crashes', crashes, '--seed', '1', '--runs', '45000', '--workers', '1', '--json'];
    const { status, stdout } = pluginRun(args, { timeoutMs: 240_000 });
    const run = JSON.parse(stdout) as FuzzJson;
    expect(status).toBe(1);
    expect(run.groups.map((g) => g.signature)).toEqual(['CRASHED SIGSEGV in parse']);
    const [group] = run.groups;
    expect(group!.examples.length).toBeGreaterThan(0);
    for (const example of group!.examples) expect(readFileSync(example).subarray(0, 4).toString('latin1')).toBe('FUZZ');
    // The steps it kept on the way: inputs beginning with F, FU and FUZ (results 1, 2 and 3).
    const prefixes = run.corpus.added.map((file) => {
      const bytes = readFileSync(file);
      let matched = 0;
      while (matched < 4 && bytes[matched] === 'FUZZ'.charCodeAt(matched)) matched += 1;
      return matched;
    });
    expect(new Set(prefixes)).toEqual(new Set([1, 2, 3]));
    const replayed = pluginRun(['harness', '--json', '--replay', group!.examples[0]!]);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ ok: false, reproduced: true, signature: 'CRASHED SIGSEGV in parse' });
  }, 300_000);

  it('refuses an empty corpus, a missing --corpus, and a function that does not take bytes (exit 2, one line)', () => {
    mkdirSync(join(dir, 'empty'));
    const empty = pluginRun(['fuzz', fixture('decoder'), DECODE, '--corpus', join(dir, 'empty'), '--runs', '1']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toBe(`plugin-run fuzz: --corpus: no input files in ${JSON.stringify(join(dir, 'empty'))} (looked in ${join(dir, 'empty')}; dot files are skipped): fuzzing starts from at least one\n`);
    const noCorpus = pluginRun(['fuzz', fixture('decoder'), DECODE]);
    expect(noCorpus.status).toBe(2);
    expect(noCorpus.stderr).toBe('error: fuzzing LIBRARY FN needs --corpus DIR (the inputs to start from)\n(add --help for the usage)\n');
    const notBytes = pluginRun(['fuzz', fixture('decoder'), 'int add(int a, int b)', '--corpus', join(dir, 'seeds')]);
    expect(notBytes.status).toBe(2);
    expect(notBytes.stderr).toBe('plugin-run fuzz: "int add(int a, int b)" does not take bytes (expected one buffer, such as int decode(const uint8_t *data, size_t len))\n');
    const noEntry = join(dir, 'cases-only.yaml');
    writeFileSync(noEntry, `library: ${fixture('decoder')}\ncases:\n  - { name: a, fn: '${DECODE}', args: [{ hex: "61" }], expect: { result: 0 } }\n`);
    const specWithout = pluginRun(['fuzz', noEntry]);
    expect(specWithout.status).toBe(2);
    expect(specWithout.stderr).toBe(`plugin-run fuzz: ${noEntry}: the spec has no corpus entry (fuzz takes the fn, expect and dir of its first)\n`);
  });
});
