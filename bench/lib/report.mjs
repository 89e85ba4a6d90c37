// Rows of the report: a figure, its floor or baseline from the same run, the ratio, the target
// and the verdict; the table on stdout and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One row. `baseline`: { name, value } measured in this run (the ratio is value / baseline).
 * `target`: { on: 'ratio' | 'value', op: '<=' | '>=', limit } or none (a reference figure).
 */
export function row(id, figure, value, unit, { baseline, target, note } = {}) {
  const ratio = value !== null && baseline?.value ? value / baseline.value : null;
  let verdict = '';
  if (target) {
    const measured = target.on === 'ratio' ? ratio : value;
    if (measured === null || measured === undefined || Number.isNaN(measured)) verdict = 'n/a';
    else verdict = (target.op === '<=' ? measured <= target.limit : measured >= target.limit) ? 'ok' : 'OVER TARGET';
  }
  return { id, figure, value, unit, baseline: baseline ?? null, ratio, target: target ?? null, verdict, ...(note && { note }) };
}

const group = (n) => Math.round(n).toLocaleString('en-US');

export function formatValue(value, unit) {
  if (value === null || value === undefined) return 'null';
  switch (unit) {
    case 'calls/s':
      return `${group(value)} calls/s`;
    case 'MiB/s':
      return `${value.toFixed(value < 100 ? 1 : 0)} MiB/s`;
    case 'µs/call':
      return `${value.toFixed(value < 10 ? 2 : 1)} µs/call`;
    default:
      return `${value.toFixed(1)} ${unit}`;
  }
}

function formatTarget(target, unit) {
  if (!target) return '';
  const limit = target.on === 'ratio' ? `${target.limit}×` : formatValue(target.limit, unit);
  return `${target.op === '<=' ? '≤' : '≥'} ${limit}`;
}

/** The compact table: one line per row, columns padded to fit. */
export function table(rows) {
  const header = ['figure', 'value', 'floor / baseline', 'ratio', 'target', 'verdict'];
  const lines = rows.map((r) => [
    r.figure,
    formatValue(r.value, r.unit),
    r.baseline ? `${r.baseline.name}: ${formatValue(r.baseline.value, r.baseline.unit ?? r.unit)}` : '',
    r.ratio === null ? (r.baseline ? '—' : '') : `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}×`,
    formatTarget(r.target, r.unit),
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

export function writeJson(path, report) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
