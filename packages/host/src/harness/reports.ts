import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { toJson } from '../cli/render.js';
import { type CaseOutcome, type HarnessRun, describeResult, describeSettlement } from './run-harness.js';
import type { Expectation } from './spec.js';

/** The report formats `--report` writes. */
export const REPORT_FORMATS = ['json', 'junit'] as const;

/** Where one report goes: `json:FILE` or `junit:FILE`. */
export interface ReportTarget {
  format: (typeof REPORT_FORMATS)[number];
  file: string;
}

/** Parses `json:FILE` or `junit:FILE`; throws an Error quoting the bad text. */
export function parseReportTarget(text: string): ReportTarget {
  const colon = text.indexOf(':');
  const format = colon === -1 ? '' : text.slice(0, colon).toLowerCase();
  const file = colon === -1 ? '' : text.slice(colon + 1);
  if (!(REPORT_FORMATS as readonly string[]).includes(format) || file.length === 0) {
    throw new Error(`expected json:FILE or junit:FILE, got ${JSON.stringify(text)}`);
  }
  return { format: format as ReportTarget['format'], file };
}

/** Every outcome and the summary as one JSON document (64-bit integers exact, bytes as base64). */
export function jsonReport(run: HarnessRun): string {
  return `${toJson(run)}\n`;
}

/**
 * A JUnit XML document: one testsuite per group (`cases`, each `corpus[i]`), one testcase per
 * outcome, a `<failure>` with the reason as its message and the details (expected, actual,
 * plugin output) as its text.
 */
export function junitReport(run: HarnessRun): string {
  const specName = basename(run.spec, extname(run.spec));
  const groups = new Map<string, CaseOutcome[]>();
  for (const outcome of run.outcomes) {
    const list = groups.get(outcome.group) ?? [];
    list.push(outcome);
    groups.set(outcome.group, list);
  }
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`plugin-run harness ${basename(run.spec)}`)}" tests="${run.summary.ran}" failures="${run.summary.failed}" errors="0" time="${seconds(run.summary.durationMs)}" timestamp="${attr(run.startedAt.replace(/\.\d+Z$/, ''))}">`,
  ];
  for (const [group, outcomes] of groups) {
    const failures = outcomes.filter((o) => o.outcome === 'fail').length;
    const time = outcomes.reduce((sum, o) => sum + o.durationMs, 0);
    lines.push(
      `  <testsuite name="${attr(`${specName}.${group}`)}" tests="${outcomes.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}" timestamp="${attr(run.startedAt.replace(/\.\d+Z$/, ''))}">`,
      '    <properties>',
      `      <property name="library" value="${attr(run.library)}"/>`,
      `      <property name="workers" value="${run.summary.workers}"/>`,
      '    </properties>',
    );
    for (const outcome of outcomes) {
      const open = `    <testcase name="${attr(outcome.name)}" classname="${attr(`${specName}.${group}`)}" time="${seconds(outcome.durationMs)}"`;
      if (outcome.outcome === 'pass') {
        lines.push(`${open}/>`);
        continue;
      }
      const type = outcome.actual.ok ? 'WRONG_RESULT' : outcome.actual.error.code;
      lines.push(`${open}>`, `      <failure message="${attr(outcome.reason ?? 'failed')}" type="${attr(type)}">${text(failureDetails(outcome))}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** Writes each report (creating its directory). */
export async function writeReports(run: HarnessRun, targets: readonly ReportTarget[]): Promise<void> {
  for (const target of targets) {
    await mkdir(dirname(target.file), { recursive: true });
    await writeFile(target.file, target.format === 'json' ? jsonReport(run) : junitReport(run));
  }
}

function failureDetails(outcome: CaseOutcome): string {
  const lines = [`case: ${outcome.path}${outcome.file ? ` (${outcome.file})` : ''}`, `fn: ${outcome.fn}`, `expected: ${describeExpectation(outcome.expect)}`, `actual: ${describeSettlement(outcome.actual)}`];
  const output = outcome.actual.ok ? undefined : outcome.actual.error.output;
  if (output && output.length > 0) lines.push('plugin output (last lines):', ...output.map((line) => `  ${line}`));
  return lines.join('\n');
}

function describeExpectation(expect: Expectation): string {
  if ('ok' in expect) return 'success';
  if ('result' in expect) return `result ${describeResult(expect.result)}`;
  const { code, ...fields } = expect;
  return Object.keys(fields).length > 0 ? `${code} ${JSON.stringify(fields)}` : code;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

// Characters XML 1.0 cannot carry at all (controls, lone surrogates, U+FFFE/FFFF) become U+FFFD.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text content. */
function text(value: string): string {
  return value.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes an attribute value (quotes and line breaks too, which attributes would normalize away). */
function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
