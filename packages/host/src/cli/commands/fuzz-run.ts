// What `plugin-run fuzz` does once its command line has parsed (fuzz.ts loads it then).
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_CODES, type LogLevel, PrototypeError, buildSignature, isPrototype } from '@airlock/protocol';
import { openCrashDir } from '../../harness/crash-store.js';
import { type FuzzRun, type FuzzStatus, type FuzzTarget, runFuzz } from '../../harness/fuzz.js';
import { type HarnessSpec, SpecError, formatProblem, listCorpus, loadSpec, takesBytes } from '../../harness/spec.js';
import { renderGroups, terminal } from '../../harness/summary.js';
import { limitsFrom, poolFrom, sandboxFrom, workerEnvFrom } from '../options.js';
import { toJson, workersLog } from '../render.js';

/** Exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

export async function runFuzzCommand(words: string[], options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  let target: FuzzTarget;
  let crashes: string;
  try {
    target = words.length === 1 ? fromSpec(words[0]!, options.corpus as string | undefined) : fromFunction(words[0]!, words[1]!, options.corpus as string);
    crashes = openCrashDir(options.crashes as string);
  } catch (error) {
    if (error instanceof SpecError) {
      const lines = error.problems.map((problem) => `  ${formatProblem(error.file, problem)}`);
      return usageError(`bad spec (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, json);
    }
    if (error instanceof FuzzTargetError) return usageError(error.message, json);
    throw error;
  }
  const seed = (options.seed as number | undefined) ?? randomInt(0, 0xffffffff);
  const tty = process.stderr.isTTY;
  if (!json) process.stderr.write(`plugin-run fuzz: seed ${seed} (--seed ${seed} makes the same inputs from the same corpus)\n`);
  const line = tty ? new StatusLine() : undefined;
  const onLog = workersLog(options.logLevel as LogLevel, () => line?.clear());
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const runs = options.runs as number | undefined;
  const timeMs = (options.time as number | undefined) ?? (runs === undefined ? 60_000 : undefined);
  let run: FuzzRun;
  try {
    run = await runFuzz(target, {
      workers: 1,
      ...poolFrom(options),
      seed,
      ...(runs !== undefined && { runs }),
      ...(timeMs !== undefined && { timeMs }),
      maxLength: options.maxLen as number,
      crashes,
      limits: limitsFrom(options),
      ...(sandboxFrom(options) !== undefined && { sandbox: sandboxFrom(options) }),
      ...workerEnvFrom(options),
      ...(options.minimize === true && { minimize: { maxTries: options.minimizeTries as number, timeMs: options.minimizeTime as number } }),
      onLog,
      onStatus: (status) => line?.update(status),
      onMinimize: (group) => line?.message(`minimizing ${group.signature}`),
      signal: interrupt.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    line?.clear();
  }
  const status = run.stoppedBy === 'interrupted' ? EXIT_INTERRUPTED : run.groups.length > 0 ? 1 : EXIT_CODES.OK;
  if (json) {
    const { firsts: _firsts, ...rest } = run;
    process.stdout.write(`${toJson({ ok: status === EXIT_CODES.OK, ...rest })}\n`);
    return status;
  }
  const { color } = terminal(process.stdout);
  const rate = run.durationMs > 0 ? Math.round((run.execs * 1000) / run.durationMs) : run.execs;
  const lines = [
    `fuzz: ${run.execs} execs in ${(run.durationMs / 1000).toFixed(2)} s (${rate}/s), seed ${run.seed}, stopped by ${run.stoppedBy === 'runs' ? '--runs' : run.stoppedBy === 'time' ? '--time' : 'Ctrl-C'}`,
    `corpus: ${run.corpus.initial} → ${run.corpus.size} inputs (${run.corpus.added.length} new in ${run.corpus.dir})`,
    ...renderGroups(run.groups, run.firsts, run.failed, color),
    '',
    run.groups.length === 0 ? 'no failure found' : `${run.failed} failing input${run.failed === 1 ? '' : 's'} in ${run.groups.length} group${run.groups.length === 1 ? '' : 's'}; kept in ${crashes}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return status;
}

/** A target that cannot be fuzzed; its message names the bad value and what was expected. */
class FuzzTargetError extends Error {}

/** The spec's first corpus entry: its library, limits, fn, expect, and its dir unless `--corpus` says another. */
function fromSpec(file: string, corpus: string | undefined): FuzzTarget {
  const spec: HarnessSpec = loadSpec(file);
  const entry = spec.corpora[0];
  if (entry === undefined) throw new FuzzTargetError(`${file}: the spec has no corpus entry (fuzz takes the fn, expect and dir of its first)`);
  const { cases: _cases, corpora: _corpora, ...rest } = spec;
  const dir = corpus === undefined ? entry.dir : resolve(corpus);
  return { ...rest, fn: entry.fn, abi: entry.abi, caseLimits: entry.limits, expect: entry.expect, corpusDir: dir, corpusFiles: corpusFiles(dir, corpus ?? entry.dir) };
}

/** A library's function taking bytes, expected to succeed whatever it is given. */
function fromFunction(library: string, fn: string, corpus: string): FuzzTarget {
  if (isPrototype(fn)) {
    let signature;
    try {
      signature = buildSignature(fn);
    } catch (error) {
      if (error instanceof PrototypeError) throw new FuzzTargetError(`${JSON.stringify(fn)}: ${error.message}`);
      throw error;
    }
    if (!takesBytes(signature)) throw new FuzzTargetError(`${JSON.stringify(fn)} does not take bytes (expected one buffer, such as int decode(const uint8_t *data, size_t len))`);
  }
  const path = library.includes('/') ? resolve(library) : library;
  if (path !== library && !(statSync(path, { throwIfNoEntry: false })?.isFile() ?? false)) throw new FuzzTargetError(`no such library ${JSON.stringify(library)} (looked for ${path})`);
  const dir = resolve(corpus);
  return { file: '', library: path, limits: {}, fn, abi: 'auto', caseLimits: {}, expect: { ok: true }, corpusDir: dir, corpusFiles: corpusFiles(dir, corpus) };
}

/** The corpus's files (as the harness lists them); an error naming the dir when it has none. */
function corpusFiles(dir: string, written: string): string[] {
  const files = listCorpus(dir, written);
  if (typeof files === 'string') throw new FuzzTargetError(`--corpus: ${files}`);
  if (files.length === 0) throw new FuzzTargetError(`--corpus: no input files in ${JSON.stringify(written)} (looked in ${dir}; dot files are skipped): fuzzing starts from at least one`);
  return files;
}

function usageError(message: string, json: boolean): number {
  if (json) process.stdout.write(`${toJson({ ok: false, error: { code: 'INVALID_ARGUMENT', message } })}\n`);
  else process.stderr.write(`plugin-run fuzz: ${message}\n`);
  return EXIT_CODES.INVALID_ARGUMENT;
}

/** AFL's status line, on stderr (a terminal only), redrawn at most every 250 ms. */
class StatusLine {
  private drawnAt = 0;
  private shown = false;

  /** Redraws with the run's numbers when due. */
  update(status: FuzzStatus): void {
    const now = Date.now();
    if (now - this.drawnAt < 250) return;
    this.drawnAt = now;
    const time = (status.elapsedMs / 1000).toFixed(1);
    this.draw(`execs ${status.execs} (${Math.round(status.execsPerSecond)}/s)  groups ${status.groups}  corpus ${status.corpus}  time ${time}s`);
  }

  /** Shows a message in the line's place. */
  message(text: string): void {
    this.draw(text);
  }

  /** Erases the line (before other output, and at the end). */
  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }

  private draw(text: string): void {
    const width = process.stderr.columns ?? 80;
    process.stderr.write(`\r\u001b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
    this.shown = true;
  }
}
