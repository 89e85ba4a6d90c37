// The summary `plugin-run harness` prints: a table of the outcomes that fits the terminal, the
// failures by group (one entry per bug, however many inputs reached it) and the totals. Colour
// only on a terminal (and not with NO_COLOR).
import { type CaseOutcome, type GroupReport, type HarnessRun, describeSettlement, outputLines } from './run-harness.js';

/** How to render: which rows, how wide, whether in colour. */
export interface SummaryStyle {
  /** List only the failed outcomes in the table (the totals still count all). */
  failuresOnly?: boolean;
  /** Columns available; the table's name and actual columns shrink to fit. Default: no limit. */
  width?: number;
  color?: boolean;
}

/** The style for a stream: its width and colour when it is a terminal, neither otherwise. */
export function terminal(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): Pick<SummaryStyle, 'width' | 'color'> {
  if (stream.isTTY !== true) return { color: false };
  return { ...(stream.columns !== undefined && stream.columns > 0 && { width: stream.columns }), color: env.NO_COLOR === undefined || env.NO_COLOR === '' };
}

const NAME_WIDTH = 48;
const ACTUAL_WIDTH = 36;
/** The narrowest a shrunk name or actual column gets. */
const MIN_COLUMN = 8;

/**
 * The summary: one row per outcome (name, pass/FAIL, what the call did, ms), then each group of
 * failures (its signature and count, its first failure's reason, examples, the plugin's last
 * lines, how to replay it, its minimized input), then the totals.
 */
export function renderSummary(run: HarnessRun, style: SummaryStyle = {}): string {
  const paint = (code: string, text: string): string => (style.color === true ? `\u001b[${code}m${text}\u001b[0m` : text);
  const rows = style.failuresOnly === true ? run.outcomes.filter((o) => o.outcome === 'fail') : run.outcomes;
  // (reduce, not Math.max(...spread): a corpus may hold more files than a call takes arguments)
  const widest = (floor: number, cap: number, cell: (o: CaseOutcome) => string): number => Math.min(cap, rows.reduce((width, o) => Math.max(width, cell(o).length), floor));
  let nameWidth = widest(4, NAME_WIDTH, (o) => oneLine(o.name));
  let actualWidth = widest(6, ACTUAL_WIDTH, actualCell);
  const msWidth = widest(2, Infinity, (o) => String(Math.round(o.durationMs)));
  if (style.width !== undefined) {
    // The wider of the two shrinking columns gives way first, down to MIN_COLUMN each.
    let over = nameWidth + actualWidth + 2 + 7 + 2 + 2 + msWidth - style.width;
    while (over > 0 && (nameWidth > MIN_COLUMN || actualWidth > MIN_COLUMN)) {
      if (nameWidth >= actualWidth && nameWidth > MIN_COLUMN) nameWidth -= 1;
      else actualWidth -= 1;
      over -= 1;
    }
  }
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(paint('1', `${'CASE'.padEnd(nameWidth)}  OUTCOME  ${'ACTUAL'.padEnd(actualWidth)}  ${'MS'.padStart(msWidth)}`));
    for (const outcome of rows) {
      const verdict = outcome.outcome === 'pass' ? paint('32', 'pass   ') : paint('31', 'FAIL   ');
      lines.push([cut(oneLine(outcome.name), nameWidth).padEnd(nameWidth), verdict, cut(actualCell(outcome), actualWidth).padEnd(actualWidth), String(Math.round(outcome.durationMs)).padStart(msWidth)].join('  '));
    }
  }
  lines.push(...renderGroups(run.groups, run.outcomes, run.summary.failed, style.color === true));
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

/**
 * The failures by group: each signature once with its count, the first failure's reason, the
 * examples, the plugin's last lines, how to replay it and its minimized input. `outcomes` holds
 * (at least) each group's first failure.
 */
export function renderGroups(groups: readonly GroupReport[], outcomes: readonly CaseOutcome[], failed: number, color = false): string[] {
  if (groups.length === 0) return [];
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines = ['', `Failures: ${failed} in ${groups.length} group${groups.length === 1 ? '' : 's'} (by signature: code, signal or limit, function, last line of output)`];
  for (const group of groups) {
    lines.push(`  ${paint('1;31', oneLine(group.signature))}  (${group.count} input${group.count === 1 ? '' : 's'})`);
    const first = outcomes.find((o) => o.groupId === group.id);
    if (first !== undefined) lines.push(`    ${oneLine(first.name)} (${first.path}): ${oneLine(first.reason ?? '')}`);
    if (group.examples.length > 1 || first?.file !== undefined || first?.kept !== undefined) lines.push(`    examples: ${group.examples.map(oneLine).join(', ')}`);
    const output = first === undefined ? [] : outputLines(first);
    if (output.length > 0) lines.push('    plugin output (last lines):', ...output.slice(-5).map((line) => `      ${oneLine(line)}`));
    if (group.replay !== undefined) lines.push(`    replay: ${group.replay}`);
    const min = group.minimized;
    if (min !== undefined) {
      const stopped = min.stoppedBy === 'done' ? '' : ` (stopped by the ${min.stoppedBy === 'tries' ? 'tries' : 'time'} bound)`;
      lines.push(`    minimized: ${min.fromBytes} → ${min.bytes} byte${min.bytes === 1 ? '' : 's'} in ${min.tries} tr${min.tries === 1 ? 'y' : 'ies'}${stopped}${min.file !== undefined ? `: ${min.file}` : ''}`);
    }
  }
  return lines;
}

function actualCell(outcome: CaseOutcome): string {
  return oneLine(describeSettlement(outcome.actual, false));
}

/** Text on one line: control characters (escape sequences a plugin printed too) become spaces. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
