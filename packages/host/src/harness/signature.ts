// What tells one bug from another: a failure's signature is how the call ended (code, and the
// signal, limit or exit status), the function, and the plugin's last line of output with its
// numbers and addresses masked, so that 10,000 inputs reaching the same bug (each printing its
// own pointer or length on the way) make one group, and two bugs that crash alike do not.
import { createHash } from 'node:crypto';
import type { CallSettlement } from './run-harness.js';

/** The parts of a signature, as groups report them. */
export interface SignatureParts {
  /** The error code, or `WRONG_RESULT` for a call that returned what was not expected. */
  code: string;
  signal?: string;
  limit?: string;
  exitCode?: number;
  /** The function's name (a prototype's symbol). */
  fn: string;
  /** The plugin's last non-empty line of output, masked; absent when it wrote nothing. */
  line?: string;
}

/** A failure's signature: its text (the group's key) and its parts. */
export interface Signature extends SignatureParts {
  text: string;
  /** A file-name-safe id: `crashed-sigsegv-decode-` and 8 hex digits of the text's hash. */
  id: string;
}

// Addresses first (so that their digits are not taken for numbers), then long runs of hex
// (hashes, addresses printed without 0x), then decimal numbers, signs and fractions included;
// digits right after a letter are part of a name (`sha256`, `x86_64`) and stay.
const ADDRESS = /\b0x[0-9a-f]+\b/gi;
const HEX_RUN = /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi;
const NUMBER = /(?<![A-Za-z_\d])[-+]?\d+(?:\.\d+)?/g;

/** A line with its addresses (`0x…`, long hex runs) as `<addr>` and its numbers as `<n>`, spaces trimmed. */
export function maskLine(line: string): string {
  return line.replace(ADDRESS, '<addr>').replace(HEX_RUN, '<addr>').replace(NUMBER, '<n>').replace(/\s+/g, ' ').trim();
}

/** The symbol of `fn`: the name before the parameter list of a prototype, `fn` itself otherwise. */
export function functionName(fn: string): string {
  return /([A-Za-z_]\w*)\s*\(/.exec(fn)?.[1] ?? fn.trim();
}

/** The last line that is not blank, if any. */
export function lastLine(lines: readonly string[] | undefined): string | undefined {
  if (lines === undefined) return undefined;
  for (let i = lines.length - 1; i >= 0; i -= 1) if (lines[i]!.trim().length > 0) return lines[i];
  return undefined;
}

/** The signature of a failed call: how `actual` ended, in `fn`, after `output` (its last lines). */
export function signatureOf(actual: CallSettlement, fn: string, output: readonly string[] | undefined): Signature {
  const parts: SignatureParts = actual.ok
    ? { code: 'WRONG_RESULT', fn: functionName(fn) }
    : {
        code: actual.error.code,
        ...(actual.error.signal !== undefined && { signal: actual.error.signal }),
        ...(actual.error.limit !== undefined && { limit: actual.error.limit }),
        ...(actual.error.exitCode !== undefined && { exitCode: actual.error.exitCode }),
        fn: functionName(fn),
      };
  const line = lastLine(output);
  if (line !== undefined) parts.line = maskLine(line);
  const how = [parts.code, parts.signal, parts.limit, parts.exitCode !== undefined && `exit ${parts.exitCode}`].filter(Boolean).join(' ');
  const text = `${how} in ${parts.fn}${parts.line !== undefined ? `: ${parts.line}` : ''}`;
  return { ...parts, text, id: signatureId(parts, text) };
}

/** `crashed-sigsegv-decode-1a2b3c4d`: readable, safe in a file name, unique by the hash. */
function signatureId(parts: SignatureParts, text: string): string {
  const words = [parts.code, parts.signal ?? parts.limit ?? (parts.exitCode !== undefined ? `exit${parts.exitCode}` : undefined), parts.fn]
    .filter((word): word is string => word !== undefined)
    .map((word) => word.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 32));
  return `${words.join('-')}-${createHash('sha256').update(text).digest('hex').slice(0, 8)}`;
}

/** One group of failures sharing a signature, in the order they were first seen. */
export interface FailureGroup extends SignatureParts {
  id: string;
  /** The signature's text. */
  signature: string;
  count: number;
  /** The first inputs (corpus files, or case names for explicit cases), at most EXAMPLES. */
  examples: string[];
}

/** How many example inputs a group keeps. */
export const EXAMPLES = 3;

/** Groups failures by signature text; `example` names each failure's input. Groups keep first-seen order. */
export function groupFailures<T>(failures: Iterable<T>, signature: (failure: T) => Signature, example: (failure: T) => string): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const failure of failures) {
    const sig = signature(failure);
    let group = groups.get(sig.text);
    if (group === undefined) {
      const { text, id, ...parts } = sig;
      group = { id, signature: text, ...parts, count: 0, examples: [] };
      groups.set(sig.text, group);
    }
    group.count += 1;
    if (group.examples.length < EXAMPLES) group.examples.push(example(failure));
  }
  return [...groups.values()];
}
