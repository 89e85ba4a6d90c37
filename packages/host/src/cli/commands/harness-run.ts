// What `plugin-run harness` does once its command line has parsed (harness.ts loads it then).
import { EXIT_CODES, type LogLevel } from '@airlock/protocol';
import { type CaseOutcome, type HarnessRun, describeSettlement, runHarness } from '../../harness/run-harness.js';
import { type ReportTarget, writeReports } from '../../harness/reports.js';
import { type HarnessSpec, SpecError, formatProblem, loadSpec } from '../../harness/spec.js';
import type { LogEntry } from '../../options/host-options.js';
import { limitsFrom, sandboxFrom, workerEnvFrom } from '../options.js';
import { shows, toJson } from '../render.js';

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
  if (spec.cases.length === 0) process.stderr.write(`plugin-run harness: ${specPath}: nothing to run (every corpus dir is empty)\n`);

  const progress = process.stderr.isTTY ? new ProgressBar(spec.cases.length) : undefined;
  const level = options.logLevel as LogLevel;
  const onLog = (entry: LogEntry): void => {
    if (!shows('info', level)) return;
    progress?.clear();
    process.stderr.write(`[${entry.stream} ${entry.workerPid}] ${entry.line}\n`);
  };
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let run: HarnessRun;
  try {
    run = await runHarness(spec, {
      ...(options.workers !== undefined && { workers: options.workers as number }),
      limits: limitsFrom(options),
      ...(sandboxFrom(options) !== undefined && { sandbox: sandboxFrom(options) }),
      ...workerEnvFrom(options),
      onLog,
      onOutcome: (outcome, settled) => progress?.update(settled, outcome.outcome === 'fail'),
      signal: interrupt.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.clear();
  }

  let status: number = run.summary.interrupted ? EXIT_INTERRUPTED : run.summary.failed > 0 ? 1 : EXIT_CODES.OK;
  if (json) process.stdout.write(`${toJson({ ok: status === EXIT_CODES.OK, ...run })}\n`);
  else process.stdout.write(renderSummary(run, Boolean(options.failuresOnly)));
  try {
    await writeReports(run, (options.report as ReportTarget[] | undefined) ?? []);
  } catch (error) {
    process.stderr.write(`plugin-run harness: cannot write a report: ${(error as Error).message}\n`);
    status = EXIT_CODES.INVALID_ARGUMENT;
  }
  return status;
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

const NAME_WIDTH = 48;
const ACTUAL_WIDTH = 36;

/**
 * The summary table: one row per outcome (name, pass/FAIL, what the call did, ms), then the
 * reason of each failure with the plugin's last lines, then the totals.
 */
export function renderSummary(run: HarnessRun, failuresOnly = false): string {
  const rows = failuresOnly ? run.outcomes.filter((o) => o.outcome === 'fail') : run.outcomes;
  // (reduce, not Math.max(...spread): a corpus may hold more files than a call takes arguments)
  const widest = (floor: number, cap: number, cell: (o: CaseOutcome) => string): number => Math.min(cap, rows.reduce((width, o) => Math.max(width, cell(o).length), floor));
  const nameWidth = widest(4, NAME_WIDTH, (o) => oneLine(o.name));
  const actualWidth = widest(6, ACTUAL_WIDTH, actualCell);
  const msWidth = widest(2, Infinity, (o) => String(Math.round(o.durationMs)));
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(`${'CASE'.padEnd(nameWidth)}  OUTCOME  ${'ACTUAL'.padEnd(actualWidth)}  ${'MS'.padStart(msWidth)}`);
    for (const outcome of rows) {
      const cells = [cut(oneLine(outcome.name), nameWidth).padEnd(nameWidth), (outcome.outcome === 'pass' ? 'pass' : 'FAIL').padEnd(7), cut(actualCell(outcome), actualWidth).padEnd(actualWidth), String(Math.round(outcome.durationMs)).padStart(msWidth)];
      lines.push(cells.join('  '));
    }
  }
  const failures = run.outcomes.filter((o) => o.outcome === 'fail');
  if (failures.length > 0) {
    lines.push('', 'Failures:');
    for (const outcome of failures) {
      lines.push(`  ${oneLine(outcome.name)} (${outcome.path}): ${outcome.reason}`);
      const output = outcome.actual.ok ? undefined : outcome.actual.error.output;
      if (output && output.length > 0) lines.push('    plugin output (last lines):', ...output.slice(-5).map((line) => `      ${oneLine(line)}`));
    }
  }
  const { summary } = run;
  const actual = Object.entries(summary.actual)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  const interrupted = summary.interrupted ? `, interrupted after ${summary.ran} of ${summary.total}` : '';
  lines.push(
    '',
    `${summary.ran} case${summary.ran === 1 ? '' : 's'}: ${summary.passed} passed, ${summary.failed} failed${interrupted} in ${(summary.durationMs / 1000).toFixed(2)} s on ${summary.workers} worker${summary.workers === 1 ? '' : 's'}${actual ? ` (calls: ${actual})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function actualCell(outcome: CaseOutcome): string {
  return oneLine(describeSettlement(outcome.actual, false));
}

function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
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

  /** Erases the bar (before other output, and at the end). */
  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }
}
