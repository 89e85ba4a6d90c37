// `plugin-run fuzz`: mutates corpus inputs and keeps those whose outcome is new. With no coverage
// to go by, an outcome is what the call did: a failure's signature, or a success's result and its
// masked last line of output. Inputs are made in batches from the seeded generator and judged
// in batch order once the whole batch has settled, so that the same seed and corpus make the
// same inputs and the same findings however the calls interleave. Failures are grouped, kept
// and minimized as the harness does.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Abi, Limits } from '@airlock/protocol';
import { CaseRunner, type RunnerOptions, type RunnerTarget, outputLines } from './case-runner.js';
import { keptName, sha256 } from './crash-store.js';
import { describeResult } from './judge.js';
import { below, mutate, seeded } from './mutate.js';
import type { CaseOutcome, GroupReport } from './run-harness.js';
import { EXAMPLES, lastLine, maskLine } from './signature.js';
import type { Expectation, HarnessCase } from './spec.js';
import { workerCount } from '../options/host-options.js';

/** What is fuzzed: a library's function taking bytes, what it should do, and the corpus it starts from. */
export interface FuzzTarget extends RunnerTarget {
  fn: string;
  abi: Abi;
  /** The calls' own limits (over the target's and the run's). */
  caseLimits: Limits;
  expect: Expectation;
  /** The corpus directory (absolute): its files are the first inputs, and new ones are written there. */
  corpusDir: string;
  /** Its files, in natural order. */
  corpusFiles: string[];
}

/** How long and how to fuzz. */
export interface FuzzOptions extends Omit<RunnerOptions, 'crashes'> {
  /** The generator's seed: the same seed and corpus make the same run. */
  seed: number;
  /** Mutated inputs to run at most (after each corpus input once). */
  runs?: number;
  /** Time to fuzz at most, in ms (the batch running then completes). */
  timeMs?: number;
  /** Longest input made. */
  maxLength: number;
  /** An opened directory for failing inputs (the first EXAMPLES of each group) and minimized ones. */
  crashes: string;
  minimize?: { maxTries: number; timeMs: number };
  /** Called for each input run, in order, with what made its outcome new or not. */
  onExec?: (input: Uint8Array, outcome: CaseOutcome, key: string) => void;
  /** Called after each batch. */
  onStatus?: (status: FuzzStatus) => void;
  onMinimize?: (group: GroupReport) => void;
}

/** Where a run is: AFL's status line. */
export interface FuzzStatus {
  execs: number;
  execsPerSecond: number;
  groups: number;
  corpus: number;
  elapsedMs: number;
}

/** What a fuzzing run found. */
export interface FuzzRun {
  seed: number;
  /** Calls made: the corpus once, then mutated inputs (minimization's tries not counted). */
  execs: number;
  durationMs: number;
  stoppedBy: 'runs' | 'time' | 'interrupted';
  corpus: { dir: string; initial: number; size: number; added: string[] };
  /** Failing inputs, all groups together. */
  failed: number;
  groups: GroupReport[];
  /** The first failure of each group (for the summary). */
  firsts: CaseOutcome[];
}

/** Inputs made and run at once per worker. */
const BATCH_PER_WORKER = 8;

/** Fuzzes `target` until `runs` mutated inputs have run, `timeMs` has passed or the signal aborts. */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzRun> {
  const started = performance.now();
  const random = seeded(options.seed);
  const runner = new CaseRunner(target, options);
  const signal = options.signal;
  const testCase = (bytes: Uint8Array): HarnessCase => {
    const name = `fuzz/${sha256(bytes).slice(0, 16)}`;
    return { name, group: 'fuzz', suite: 'fuzz', path: 'fuzz', fn: target.fn, abi: target.abi, limits: target.caseLimits, expect: target.expect };
  };
  const corpus: Uint8Array[] = [];
  for (const file of target.corpusFiles) corpus.push(new Uint8Array(await readFile(file)));
  const initial = corpus.length;
  const seen = new Set<string>();
  const added: string[] = [];
  const counts = new Map<string, number>();
  // Only the first EXAMPLES failures of a group are kept, in memory and on disk: a bug the
  // fuzzer hits 100,000 times costs three files, and its count.
  const examples: CaseOutcome[] = [];
  const exampleKeys = new Set<string>();
  let execs = 0;
  let mutated = 0;
  let failed = 0;
  let stoppedBy: FuzzRun['stoppedBy'] = 'runs';

  // A batch's calls, one per worker at a time (as the harness's lanes make them: a call waits
  // for the one before it on its worker, which keeps each call's observation its own), their
  // outcomes in the batch's order whatever order they settle in.
  const workers = workerCount(options.workers);
  const runBatch = async (inputs: Uint8Array[]): Promise<CaseOutcome[]> => {
    const outcomes: CaseOutcome[] = new Array(inputs.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < inputs.length) {
        const index = next++;
        outcomes[index] = await runner.run(testCase(inputs[index]!), inputs[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, inputs.length) }, lane));
    return outcomes;
  };

  const status = (): FuzzStatus => {
    const elapsedMs = performance.now() - started;
    return { execs, execsPerSecond: elapsedMs > 0 ? (execs * 1000) / elapsedMs : 0, groups: counts.size, corpus: corpus.length, elapsedMs };
  };

  // Judges a settled batch in order: new outcomes grow the corpus (failures are kept, not mutated).
  const take = async (inputs: Uint8Array[], outcomes: CaseOutcome[], fromCorpus: boolean): Promise<void> => {
    for (const [index, outcome] of outcomes.entries()) {
      execs += 1;
      const key = outcomeKey(outcome);
      options.onExec?.(inputs[index]!, outcome, key);
      const fresh = !seen.has(key);
      seen.add(key);
      if (outcome.outcome === 'fail') {
        failed += 1;
        counts.set(outcome.groupId!, (counts.get(outcome.groupId!) ?? 0) + 1);
        // The same input made twice counts twice but is one example.
        const example = `${outcome.groupId} ${sha256(inputs[index]!)}`;
        const kept = examples.filter((other) => other.groupId === outcome.groupId).length;
        if (kept < EXAMPLES && !exampleKeys.has(example)) {
          exampleKeys.add(example);
          await runner.keep(outcome);
          examples.push(outcome);
        }
      } else if (fresh && !fromCorpus) {
        const bytes = inputs[index]!;
        corpus.push(bytes);
        const file = join(target.corpusDir, keptName('fuzz', bytes));
        if (!existsSync(file)) await writeFile(file, bytes);
        added.push(file);
      }
    }
  };

  try {
    // Each corpus input once, as AFL's dry run: what they do is not new.
    for (let at = 0; at < corpus.length && !signal?.aborted; at += workers * BATCH_PER_WORKER) {
      const inputs = corpus.slice(at, at + workers * BATCH_PER_WORKER);
      const outcomes = await runBatch(inputs);
      if (signal?.aborted) break;
      await take(inputs, outcomes, true);
      options.onStatus?.(status());
    }
    if (corpus.length === 0) corpus.push(new Uint8Array(0));
    for (;;) {
      if (signal?.aborted) {
        stoppedBy = 'interrupted';
        break;
      }
      if (options.runs !== undefined && mutated >= options.runs) break;
      if (options.timeMs !== undefined && performance.now() - started >= options.timeMs) {
        stoppedBy = 'time';
        break;
      }
      const size = Math.min(workers * BATCH_PER_WORKER, options.runs === undefined ? Infinity : options.runs - mutated);
      const inputs = Array.from({ length: size }, () => mutate(corpus[below(random, corpus.length)]!, random, corpus, options.maxLength));
      const outcomes = await runBatch(inputs);
      // Calls cancelled by the interrupt are no finding.
      if (signal?.aborted) continue;
      mutated += inputs.length;
      await take(inputs, outcomes, false);
      options.onStatus?.(status());
    }
    if (signal?.aborted) stoppedBy = 'interrupted';
    const groups = runner.group(examples);
    for (const group of groups) group.count = counts.get(group.id) ?? group.count;
    if (options.minimize !== undefined && !signal?.aborted) await runner.minimizeGroups(groups, examples, options.minimize, options.onMinimize);
    const firsts = groups.map((group) => examples.find((outcome) => outcome.groupId === group.id)!);
    return {
      seed: options.seed,
      execs,
      durationMs: Math.round(performance.now() - started),
      stoppedBy,
      corpus: { dir: target.corpusDir, initial, size: corpus.length, added },
      failed,
      groups,
      firsts,
    };
  } finally {
    await runner.close();
  }
}

/** What makes an outcome new: a failure's signature, or a success's result and masked last line. */
export function outcomeKey(outcome: CaseOutcome): string {
  if (outcome.outcome === 'fail') return `fail ${outcome.signature}`;
  const line = lastLine(outputLines(outcome));
  return `pass ${outcome.actual.ok ? describeResult(outcome.actual.result) : outcome.actual.error.code}${line !== undefined ? ` ${maskLine(line)}` : ''}`;
}
