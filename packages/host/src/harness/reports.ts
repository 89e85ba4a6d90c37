import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { toJson } from '../cli/render.js';
import { replayCommand } from './crash-store.js';
import { EXAMPLES } from './signature.js';
import { type CaseOutcome, type GroupReport, type HarnessRun, describeResult, describeSettlement, outputLines } from './run-harness.js';
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
 * A JUnit XML document: one testsuite per suite (`cases`, each corpus entry's `name`), one
 * testcase per outcome. A case whose call did not return (a crash, timeout, limit, cancel, a
 * worker that could not start) has an `<error>` whose `type` is the code; one that returned
 * what was not expected (a result, a plugin error) has a `<failure>`. Both carry the reason
 * as their message and the details (expected, actual, signature, kept input, output) as their
 * text; a failed case carries the plugin's output in `<system-out>` and `<system-err>`.
 */
export function junitReport(run: HarnessRun): string {
  const specName = basename(run.spec, extname(run.spec));
  const suites = new Map<string, CaseOutcome[]>();
  for (const outcome of run.outcomes) {
    const list = suites.get(outcome.suite) ?? [];
    list.push(outcome);
    suites.set(outcome.suite, list);
  }
  const failed = run.outcomes.filter((o) => o.outcome === 'fail');
  const errors = failed.filter(isError).length;
  const stamp = attr(run.startedAt.replace(/\.\d+Z$/, ''));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`plugin-run harness ${basename(run.spec)}`)}" tests="${run.summary.ran}" failures="${failed.length - errors}" errors="${errors}" time="${seconds(run.summary.durationMs)}" timestamp="${stamp}">`,
  ];
  for (const [suite, outcomes] of suites) {
    const suiteFailed = outcomes.filter((o) => o.outcome === 'fail');
    const suiteErrors = suiteFailed.filter(isError).length;
    const time = outcomes.reduce((sum, o) => sum + o.durationMs, 0);
    const name = `${specName}.${suite}`;
    lines.push(
      `  <testsuite name="${attr(name)}" tests="${outcomes.length}" failures="${suiteFailed.length - suiteErrors}" errors="${suiteErrors}" skipped="0" time="${seconds(time)}" timestamp="${stamp}">`,
      '    <properties>',
      `      <property name="library" value="${attr(run.library)}"/>`,
      `      <property name="workers" value="${run.summary.workers}"/>`,
      // One property per group of failures in the suite: one bug, however many inputs reached it.
      ...suiteGroups(run, outcomes).map(({ group, count, examples }) => `      <property name="group ${attr(group.id)}" value="${attr(`${group.signature} | ${count} input${count === 1 ? '' : 's'} | examples: ${examples.join(', ')}`)}"/>`),
      '    </properties>',
    );
    for (const outcome of outcomes) {
      const open = `    <testcase name="${attr(outcome.name)}" classname="${attr(name)}" time="${seconds(outcome.durationMs)}"`;
      if (outcome.outcome === 'pass') {
        lines.push(`${open}/>`);
        continue;
      }
      const element = isError(outcome) ? 'error' : 'failure';
      const type = outcome.actual.ok ? 'WRONG_RESULT' : outcome.actual.error.code;
      lines.push(`${open}>`, `      <${element} message="${attr(outcome.reason ?? 'failed')}" type="${attr(type)}">${text(failureDetails(outcome))}</${element}>`);
      const { stdout, stderr } = streams(outcome);
      if (stdout.length > 0) lines.push(`      <system-out>${text(stdout.join('\n'))}</system-out>`);
      if (stderr.length > 0) lines.push(`      <system-err>${text(stderr.join('\n'))}</system-err>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** The groups of a suite's failures, with the count and first examples within the suite. */
function suiteGroups(run: HarnessRun, outcomes: CaseOutcome[]): Array<{ group: GroupReport; count: number; examples: string[] }> {
  const found = new Map<string, { group: GroupReport; count: number; examples: string[] }>();
  const byId = new Map(run.groups.map((group) => [group.id, group]));
  for (const outcome of outcomes) {
    const group = outcome.groupId === undefined ? undefined : byId.get(outcome.groupId);
    if (group === undefined) continue;
    let entry = found.get(group.id);
    if (entry === undefined) found.set(group.id, (entry = { group, count: 0, examples: [] }));
    entry.count += 1;
    if (entry.examples.length < EXAMPLES) entry.examples.push(outcome.file ?? outcome.name);
  }
  return [...found.values()];
}

/** Whether a failed outcome is an `<error>` (the call did not return) rather than a `<failure>` (it returned the wrong thing). */
export function isError(outcome: CaseOutcome): boolean {
  return !outcome.actual.ok && outcome.actual.error.code !== 'PLUGIN_ERROR';
}

/** A failed outcome's output by stream (lines the host kept without their stream count as stdout). */
function streams(outcome: CaseOutcome): { stdout: string[]; stderr: string[] } {
  if (outcome.output === undefined) return { stdout: outputLines(outcome), stderr: [] };
  return {
    stdout: outcome.output.filter((l) => l.stream === 'stdout').map((l) => l.line),
    stderr: outcome.output.filter((l) => l.stream === 'stderr').map((l) => l.line),
  };
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
  if (outcome.signature !== undefined) lines.push(`signature: ${outcome.signature}`, `group: ${outcome.groupId}`);
  if (outcome.kept !== undefined) lines.push(`kept: ${outcome.kept}`, `replay: ${replayCommand(outcome.kept)}`);
  const output = outputLines(outcome);
  if (output.length > 0) lines.push('plugin output (last lines):', ...output.map((line) => `  ${line}`));
  return lines.join('\n');
}

/** An expectation in words: `success`, `result 5`, `CRASHED {"signal":"SIGSEGV"}`. */
export function describeExpectation(expect: Expectation): string {
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
