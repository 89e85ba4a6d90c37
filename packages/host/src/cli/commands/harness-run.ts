// What `plugin-run harness` does once its command line has parsed (harness.ts loads it then).
import { EXIT_CODES, type LogLevel } from '@airlock/protocol';
import { basename } from 'node:path';
import { openCrashDir, readKept } from '../../harness/crash-store.js';
import { type HarnessRun, type RunHarnessOptions, describeSettlement, outputLines, runHarness } from '../../harness/run-harness.js';
import { type ReportTarget, describeExpectation, writeReports } from '../../harness/reports.js';
import { oneLine, renderSummary, terminal } from '../../harness/summary.js';
import { type HarnessSpec, SpecError, formatProblem, loadSpec } from '../../harness/spec.js';
import { limitsFrom, poolFrom, sandboxFrom, workerEnvFrom } from '../options.js';
import { toJson, workersLog } from '../render.js';

/** Exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

export async function runHarnessCommand(specPath: string, options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  let spec: HarnessSpec;
  try {
    spec = loadSpec(specPath);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return printBadSpec(error, specPath, json);
  }
  let crashes: string | undefined;
  try {
    crashes = options.crashes === undefined ? undefined : openCrashDir(options.crashes as string);
  } catch (error) {
    return usageError((error as Error).message, json);
  }
  const run = await runWithProgress(spec, options, {
    ...(crashes !== undefined && { crashes }),
    ...(options.minimize === true && { minimize: { maxTries: options.minimizeTries as number, timeMs: options.minimizeTime as number } }),
  });

  let status: number = run.summary.interrupted ? EXIT_INTERRUPTED : run.summary.failed > 0 ? 1 : EXIT_CODES.OK;
  if (json) process.stdout.write(`${toJson({ ok: status === EXIT_CODES.OK, ...run })}\n`);
  else process.stdout.write(renderSummary(run, { failuresOnly: Boolean(options.failuresOnly), ...terminal(process.stdout) }));
  try {
    await writeReports(run, (options.report as ReportTarget[] | undefined) ?? []);
  } catch (error) {
    process.stderr.write(`plugin-run harness: cannot write a report: ${(error as Error).message}\n`);
    status = EXIT_CODES.INVALID_ARGUMENT;
  }
  return status;
}

/**
 * `plugin-run harness --replay FILE`: makes the call a kept input's record describes once more
 * (the command line's limits, sandbox and environment over the record's), and says whether it
 * failed with the same signature. Exit 0 when it passes now, 1 when it still fails.
 */
export async function runReplayCommand(file: string, options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  let kept: ReturnType<typeof readKept>;
  try {
    kept = readKept(file);
  } catch (error) {
    return usageError((error as Error).message, json);
  }
  const { input, record } = kept;
  const { call } = record;
  const spec: HarnessSpec = {
    file: record.source.spec,
    library: call.library,
    limits: call.limits,
    ...(call.sha256 !== undefined && { sha256: call.sha256 }),
    ...(call.vaccelArgLayout !== undefined && { vaccelArgLayout: call.vaccelArgLayout as NonNullable<HarnessSpec['vaccelArgLayout']> }),
    ...(call.env !== undefined && { env: call.env }),
    ...(call.passEnv !== undefined && { passEnv: call.passEnv }),
    ...(call.sandbox !== undefined && { sandbox: call.sandbox }),
    corpora: [],
    cases: [{ name: basename(input), group: 'replay', suite: 'replay', path: 'replay', fn: call.fn, file: input, abi: call.abi, limits: {}, expect: record.expect }],
  };
  const run = await runWithProgress(spec, { ...options, workers: 1 }, {});
  const outcome = run.outcomes[0];
  if (outcome === undefined) return EXIT_INTERRUPTED;
  const reproduced = outcome.signature === record.signature;
  const status = outcome.outcome === 'pass' ? EXIT_CODES.OK : 1;
  if (json) {
    process.stdout.write(`${toJson({ ok: status === EXIT_CODES.OK, reproduced, signature: record.signature, outcome })}\n`);
    return status;
  }
  const lines = [
    `replay ${input} (${record.bytes} byte${record.bytes === 1 ? '' : 's'}, kept from ${record.source.case})`,
    `  ${outcome.outcome === 'pass' ? 'pass' : 'FAIL'}: ${describeSettlement(outcome.actual, false)} in ${Math.round(outcome.durationMs)} ms`,
    `  kept as:  ${record.signature}`,
    `  now:      ${outcome.signature ?? 'passes (expected ' + describeExpectation(record.expect) + ')'}`,
    `  ${reproduced ? 'reproduced: the same signature' : 'not reproduced: the signature differs'}`,
  ];
  const output = outputLines(outcome);
  if (output.length > 0) lines.push('  plugin output (last lines):', ...output.slice(-5).map((line) => `    ${oneLine(line)}`));
  process.stdout.write(`${lines.join('\n')}\n`);
  return status;
}

/** Runs a spec with the command line's options, a progress bar on a terminal and Ctrl-C stopping it. */
async function runWithProgress(spec: HarnessSpec, options: Record<string, unknown>, extra: Pick<RunHarnessOptions, 'crashes' | 'minimize'>): Promise<HarnessRun> {
  const progress = process.stderr.isTTY ? new ProgressBar(spec.cases.length) : undefined;
  const onLog = workersLog(options.logLevel as LogLevel, () => progress?.clear());
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    return await runHarness(spec, {
      ...poolFrom(options),
      limits: limitsFrom(options),
      ...(sandboxFrom(options) !== undefined && { sandbox: sandboxFrom(options) }),
      ...workerEnvFrom(options),
      ...extra,
      onLog,
      onOutcome: (outcome, settled) => progress?.update(settled, outcome.outcome === 'fail'),
      onMinimize: (group) => progress?.message(`minimizing ${group.signature} …`),
      signal: interrupt.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.clear();
  }
}

/** A one-line usage error (exit 2): on stderr, or as JSON with --json. */
function usageError(message: string, json: boolean): number {
  if (json) process.stdout.write(`${toJson({ ok: false, error: { code: 'INVALID_ARGUMENT', message } })}\n`);
  else process.stderr.write(`plugin-run harness: ${message}\n`);
  return EXIT_CODES.INVALID_ARGUMENT;
}

function printBadSpec(error: SpecError, specPath: string, json: boolean): number {
  if (json) {
    const failure = { code: 'INVALID_ARGUMENT', message: `bad spec ${specPath}`, problems: error.problems };
    process.stdout.write(`${toJson({ ok: false, error: failure })}\n`);
  } else {
    const lines = error.problems.map((problem) => `  ${formatProblem(specPath, problem)}`);
    process.stderr.write(`plugin-run harness: bad spec (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}\n`);
  }
  return EXIT_CODES.INVALID_ARGUMENT;
}

/** A one-line progress bar on stderr (a terminal only), redrawn at most every 100 ms. */
class ProgressBar {
  private settled = 0;
  private failed = 0;
  private drawnAt = 0;
  private shown = false;
  private readonly started = Date.now();

  constructor(private readonly total: number) {}

  /** Counts one more settled case and redraws when due. */
  update(settled: number, failed: boolean): void {
    this.settled = settled;
    if (failed) this.failed += 1;
    const now = Date.now();
    if (now - this.drawnAt < 100 && settled < this.total) return;
    this.drawnAt = now;
    const width = 30;
    const filled = this.total === 0 ? width : Math.round((settled / this.total) * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const elapsed = ((now - this.started) / 1000).toFixed(1);
    process.stderr.write(`\r\u001b[2K[${bar}] ${this.settled}/${this.total}${this.failed > 0 ? `  ${this.failed} failed` : ''}  ${elapsed}s`);
    this.shown = true;
  }

  /** Shows a line of text in the bar's place (erased as the bar is). */
  message(text: string): void {
    const width = process.stderr.columns ?? 80;
    process.stderr.write(`\r\u001b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
    this.shown = true;
  }

  /** Erases the bar (before other output, and at the end). */
  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }
}
