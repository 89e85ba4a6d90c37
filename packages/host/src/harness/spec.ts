import { readFileSync, readdirSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import {
  AbiSchema,
  ArgumentError,
  type CallSignature,
  type ErrorCode,
  ErrorCodeSchema,
  type LimitKind,
  LimitKindSchema,
  type Limits,
  PrototypeError,
  Sha256Schema,
  VaccelArgumentError,
  VaccelLayoutSchema,
  buildSignature,
  checkArguments,
  checkVaccelArguments,
  isPrototype,
} from '@airlock/protocol';
import { LineCounter, type Node as YamlNode, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseDuration, parseSize } from '../cli/options.js';
import { naturalCompare } from './natural-order.js';
import { type SandboxOptions, SandboxOptionsSchema } from '../sandbox/sandbox-options.js';
import { type WorkerGroup, WorkersInputSchema, unionBranch } from '../options/host-options.js';

type Abi = z.infer<typeof AbiSchema>;
type VaccelLayout = z.infer<typeof VaccelLayoutSchema>;
type PathSegment = string | number;

/** What a case expects, as the spec wrote it: a result, a failure, or any success. */
export type Expectation =
  | { result: unknown }
  | { code: ErrorCode; signal?: string; limit?: LimitKind; exitCode?: number; message?: string }
  | { ok: true };

/** One call the harness makes: an explicit case or one file of a corpus. */
export interface HarnessCase {
  /** The case's name (a corpus file: `<corpus name>/<file path under dir>`). */
  name: string;
  /** The group the case belongs to: `cases` or `corpus[i]`. */
  group: string;
  /** What reports call its group: `cases`, or the corpus entry's `name` (its dir as written by default). */
  suite: string;
  /** Where the case is written in the spec: `cases[3]` or `corpus[0]`. */
  path: string;
  /** Symbol name or C prototype. */
  fn: string;
  /** The arguments (host API values); absent for a corpus file, whose bytes are the one argument. */
  args?: unknown;
  /** A corpus file's absolute path. */
  file?: string;
  abi: Abi;
  /** Per-case limits, over the host's. */
  limits: Limits;
  expect: Expectation;
}

/** A validated spec: the library resolved, the corpus expanded into cases. */
export interface HarnessSpec {
  /** The spec file's absolute path. */
  file: string;
  /** The library as the host should load it: an absolute path, or a bare name for the loader. */
  library: string;
  /** Its workers: a number of local ones, or groups (see createHost's `workers`). */
  workers?: number | WorkerGroup[];
  /** Ships the library to launched workers by its content. */
  ship?: boolean;
  /** The spec's limits for every call. */
  limits: Limits;
  sha256?: string;
  vaccelArgLayout?: VaccelLayout;
  /** Variables set in the workers' environment (the host's `env`). */
  env?: Record<string, string>;
  /** The host's variables passed to the workers, beside LD_LIBRARY_PATH (the host's `passEnv`). */
  passEnv?: string[];
  /** The sandbox of the spec's workers, its paths absolute (relative ones are the spec file's). */
  sandbox?: SandboxOptions;
  cases: HarnessCase[];
  /** The corpus entries as written, their dirs absolute (the fuzzer takes its fn, expect and dir from one). */
  corpora: CorpusEntry[];
}

/** A corpus entry of a spec, resolved. */
export interface CorpusEntry {
  /** The prefix of its cases' names: its `name`, or its dir as written. */
  name: string;
  fn: string;
  /** The directory's absolute path. */
  dir: string;
  abi: Abi;
  limits: Limits;
  expect: Expectation;
}

/** One thing wrong with a spec: where (a path into it, and the line when known) and what. */
export interface SpecProblem {
  /** `cases[1].expect.code`; empty for the spec as a whole. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** A spec that cannot be run; `problems` point into it. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
  }
}

/** `spec.yaml:12:7: cases[1].expect: …` (compiler style, so editors can jump to it). */
export function formatProblem(file: string, problem: SpecProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

// ---------------------------------------------------------------------------------------------
// Values in a spec (arguments and expected results)
// ---------------------------------------------------------------------------------------------

const HEX = /^(?:[0-9a-f]{2})*$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const FLOAT_NAMES: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

/**
 * Turns a value as written in a spec into a host API value. Plain JSON stays as is (integer
 * literals beyond 2^53 already arrive as bigints); an object whose only key is one of these is
 * a tagged value: `{"$bigint": "18446744073709551615"}` → bigint, `{"hex": "00ff"}` and
 * `{"base64": "AP8="}` → Uint8Array, `{"$float": "NaN" | "Infinity" | "-Infinity" | "-0"}`.
 * Problems are reported through `report` with their path relative to `value`.
 */
export function decodeSpecValue(value: unknown, report: (path: PathSegment[], message: string) => void, path: PathSegment[] = []): unknown {
  if (Array.isArray(value)) return value.map((item, index) => decodeSpecValue(item, report, [...path, index]));
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  if (keys.length === 1) {
    const key = keys[0]!;
    const tagged = record[key];
    const at = [...path, key];
    switch (key) {
      case '$bigint': {
        const text = typeof tagged === 'string' ? tagged.trim() : typeof tagged === 'number' || typeof tagged === 'bigint' ? String(tagged) : undefined;
        if (text === undefined || !/^-?(?:0x[0-9a-f]+|\d+)$/i.test(text)) {
          report(at, `expected an integer as a decimal (or 0x hex) string, got ${describeSpecValue(tagged)}`);
          return undefined;
        }
        return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
      }
      case 'hex': {
        const text = typeof tagged === 'string' ? tagged.replace(/[\s:_]/g, '') : undefined;
        if (text === undefined || !HEX.test(text)) {
          report(at, `expected pairs of hex digits (spaces allowed), got ${describeSpecValue(tagged)}`);
          return undefined;
        }
        return new Uint8Array(Buffer.from(text, 'hex'));
      }
      case 'base64': {
        const text = typeof tagged === 'string' ? tagged.replace(/\s/g, '') : undefined;
        if (text === undefined || !BASE64.test(text) || text.length % 4 === 1) {
          report(at, `expected base64 data, got ${describeSpecValue(tagged)}`);
          return undefined;
        }
        return new Uint8Array(Buffer.from(text, 'base64'));
      }
      case '$float': {
        if (typeof tagged !== 'string' || !(tagged in FLOAT_NAMES)) {
          report(at, `expected one of "NaN", "Infinity", "-Infinity", "-0", got ${describeSpecValue(tagged)}`);
          return undefined;
        }
        return FLOAT_NAMES[tagged];
      }
    }
  }
  return Object.fromEntries(keys.map((key) => [key, decodeSpecValue(record[key], report, [...path, key])]));
}

/** A value as an error message quotes it: JSON, bigints as literals, cut at 60 characters. */
export function describeSpecValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item instanceof Uint8Array ? `<${item.length} bytes>` : item)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

/** A strict object whose unknown-key message lists the keys it allows. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key (allowed: ${allowed})` : undefined) });
}

/** A value decoded by decodeSpecValue, its problems reported as issues. */
const specValue = z.unknown().transform((value, ctx) => decodeSpecValue(value, (path, message) => ctx.issues.push({ code: 'custom', message, path, input: value })));

/** A limit given as a number (ms or bytes) or as text in units (`2s`, `64M`). */
function limitValue(kind: 'duration' | 'size' | 'count') {
  const units = kind === 'duration' ? 'milliseconds, or a duration such as 500ms or 2s' : kind === 'size' ? 'bytes, or a size such as 64K or 16M' : 'a positive whole number';
  return z.unknown().transform((value, ctx): number => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
    if (typeof value === 'string' && kind !== 'count') {
      try {
        return kind === 'duration' ? parseDuration(value) : parseSize(value);
      } catch (error) {
        ctx.issues.push({ code: 'custom', message: (error as Error).message, input: value });
        return z.NEVER;
      }
    }
    ctx.issues.push({ code: 'custom', message: `expected ${kind === 'count' ? units : `a positive number of ${units}`}, got ${describeSpecValue(value)}`, input: value });
    return z.NEVER;
  });
}

const SpecLimitsSchema = strict({
  timeoutMs: limitValue('duration').optional(),
  memoryBytes: limitValue('size').optional(),
  cpuMs: limitValue('duration').optional(),
  maxOpenFiles: limitValue('count').optional(),
  maxProcesses: limitValue('count').optional(),
  maxOutputBytes: limitValue('size').optional(),
});

const SIGNALS = new Set(Object.keys(osConstants.signals));

const ResultExpectSchema = strict({ result: specValue });
const OkExpectSchema = strict({ ok: z.literal(true, { error: 'ok can only be true (to expect a failure, give its code)' }) });
const ErrorExpectSchema = strict({
  code: ErrorCodeSchema,
  signal: z
    .string()
    .transform((name, ctx) => {
      const signal = name.toUpperCase().startsWith('SIG') ? name.toUpperCase() : `SIG${name.toUpperCase()}`;
      if (!SIGNALS.has(signal)) ctx.issues.push({ code: 'custom', message: `unknown signal ${JSON.stringify(name)} (e.g. SIGSEGV, SIGABRT, SIGKILL)`, input: name });
      return signal;
    })
    .optional(),
  limit: LimitKindSchema.optional(),
  exitCode: z.number().int().min(0).max(255).optional(),
  /** A substring of the error's message. */
  message: z.string().optional(),
}).superRefine((expect, ctx) => {
  if (expect.limit !== undefined && expect.code !== 'LIMIT_EXCEEDED') {
    ctx.issues.push({ code: 'custom', path: ['limit'], message: `limit applies to code LIMIT_EXCEEDED, not ${expect.code}`, input: expect.limit });
  }
  if (expect.signal !== undefined && expect.code !== 'CRASHED') {
    ctx.issues.push({ code: 'custom', path: ['signal'], message: `signal applies to code CRASHED, not ${expect.code}`, input: expect.signal });
  }
  if (expect.exitCode !== undefined && expect.code !== 'CRASHED' && expect.code !== 'PLUGIN_ERROR') {
    ctx.issues.push({ code: 'custom', path: ['exitCode'], message: `exitCode applies to codes CRASHED and PLUGIN_ERROR, not ${expect.code}`, input: expect.exitCode });
  }
});

/** `{ result }`, `{ code, … }` or `{ ok: true }`, told apart by which key is there. */
const ExpectSchema = z.unknown().transform((value, ctx): Expectation => {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const schema = !isObject ? undefined : 'result' in value ? ResultExpectSchema : 'code' in value ? ErrorExpectSchema : 'ok' in value ? OkExpectSchema : undefined;
  if (schema === undefined) {
    const wanted = '{ result: … }, { code: "CRASHED", … } or { ok: true }';
    const got = isObject ? `an object with keys ${Object.keys(value).join(', ') || '(none)'}` : describeSpecValue(value);
    ctx.issues.push({ code: 'custom', message: value === undefined ? `missing (expected ${wanted})` : `expected ${wanted}, got ${got}`, input: value });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // The chosen shape's issues, already worded; their paths continue from here.
    for (const issue of parsed.error.issues) ctx.issues.push(issue as never);
    return z.NEVER;
  }
  return parsed.data as Expectation;
});

const name = z.string().trim().min(1, 'expected a non-empty string');

const CaseSchema = strict({
  name,
  fn: name,
  args: specValue.optional(),
  abi: AbiSchema.optional(),
  limits: SpecLimitsSchema.optional(),
  expect: ExpectSchema,
});

const CorpusSchema = strict({
  /** Prefix of the outcomes' names; the dir as written by default. */
  name: name.optional(),
  fn: name,
  dir: name,
  abi: AbiSchema.optional(),
  limits: SpecLimitsSchema.optional(),
  expect: ExpectSchema,
});

/** What an environment variable's name may be (as POSIX shells take it). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The schema of a harness spec (JSON or YAML). Unknown keys are rejected everywhere. */
export const HarnessSpecSchema = strict({
  library: name,
  abi: AbiSchema.optional(),
  /** A number of local workers, or groups `[{ count, launcher?, command? }]` as createHost takes them. */
  workers: WorkersInputSchema.optional(),
  /** Ships the library to launched workers by its content (createHost's `ship`). */
  ship: z.boolean().optional(),
  limits: SpecLimitsSchema.optional(),
  sha256: Sha256Schema.optional(),
  vaccelArgLayout: VaccelLayoutSchema.optional(),
  /** Variables set in the workers' environment, which otherwise holds only LD_LIBRARY_PATH: { NAME: value }. */
  env: z
    .record(z.string(), z.string())
    .superRefine((env, context) => {
      for (const key of Object.keys(env)) {
        if (!ENV_NAME.test(key)) context.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(key)} is not a variable name: an environment variable name is letters, digits and _` });
      }
    })
    .optional(),
  /** Names of the variables of plugin-run's own environment passed on to the workers (LD_LIBRARY_PATH always is). */
  passEnv: z.array(z.string().regex(ENV_NAME, 'an environment variable name is letters, digits and _')).optional(),
  /** Runs the cases in a sandbox: true, or { network, readable, writable } (paths relative to the spec file). */
  sandbox: SandboxOptionsSchema.optional(),
  cases: z.array(CaseSchema).default([]),
  corpus: z.array(CorpusSchema).default([]),
});
type RawSpec = z.output<typeof HarnessSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Where a problem was found, before it gets its line. */
interface LocatedProblem {
  path: PathSegment[];
  message: string;
}

/** Reads, parses (JSON or YAML by extension) and validates a spec; throws SpecError. */
export function loadSpec(file: string): HarnessSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new SpecError(file, [{ path: '', message: `cannot read the spec: ${reason}` }]);
  }
  return parseSpec(text, { file, format: specFormat(file) });
}

/** `json` for `.json` files, `yaml` otherwise (YAML is a superset of JSON). */
export function specFormat(file: string): 'json' | 'yaml' {
  return extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/**
 * Parses and validates a spec's text. `file` names it in errors and is the base of its
 * relative paths (the library and corpus dirs are relative to the spec's directory).
 */
export function parseSpec(text: string, options: { file: string; format: 'json' | 'yaml' }): HarnessSpec {
  const { file, format } = options;
  const located = new SpecLocator(text);
  const raw = format === 'json' ? parseJson(text, file, located) : parseYaml(text, file, located);
  const parsed = HarnessSpecSchema.safeParse(raw, { error: (issue) => (issue.input === undefined && issue.code === 'invalid_type' ? `missing (expected ${issue.expected})` : undefined) });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap(unionBranch).flatMap((issue): LocatedProblem[] => {
      const path = issue.path as PathSegment[];
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: issue.message }));
      const received = valueAt(raw, path);
      const quoted = issue.code === 'custom' || received === undefined ? '' : ` (got ${describeSpecValue(received)})`;
      return [{ path, message: `${issue.message}${quoted}` }];
    });
    throw located.error(file, problems);
  }
  return resolveSpec(parsed.data, file, located);
}

function parseJson(text: string, file: string, located: SpecLocator): unknown {
  try {
    // Integer literals beyond 2^53 become bigints, exactly (JSON.parse source text access).
    return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value,
    );
  } catch (error) {
    const message = (error as Error).message;
    const at = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    // Node names the line only sometimes; the yaml parser (JSON is YAML) usually finds the spot.
    const fromYaml = located.document.errors[0]?.linePos?.[0];
    const spot = at ? { line: Number(at[1]), column: Number(at[2]) } : position ? located.linePos(Number(position[1])) : fromYaml ? { line: fromYaml.line, column: fromYaml.col } : {};
    throw new SpecError(file, [{ path: '', message: `not valid JSON: ${message.replace(/\s*\(line \d+ column \d+\)/, '')}`, ...spot }]);
  }
}

function parseYaml(text: string, file: string, located: SpecLocator): unknown {
  const doc = located.document;
  if (doc.errors.length > 0) {
    throw new SpecError(
      file,
      doc.errors.map((error) => {
        const [line, column] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [undefined, undefined];
        const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { path: '', message: `not valid YAML: ${message}`, ...(line !== undefined && { line, column }) };
      }),
    );
  }
  try {
    return normalizeIntegers(doc.toJS({ maxAliasCount: 100 }));
  } catch (error) {
    throw new SpecError(file, [{ path: '', message: `not valid YAML: ${(error as Error).message}` }]);
  }
}

/** YAML integers arrive as bigints (exact); those within 2^53 become numbers again. */
function normalizeIntegers(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(normalizeIntegers);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalizeIntegers(item)]));
  }
  return value;
}

/** The checks that need the file system or several fields at once; builds the runnable spec. */
function resolveSpec(raw: RawSpec, file: string, located: SpecLocator): HarnessSpec {
  const base = dirname(resolve(file));
  const problems: LocatedProblem[] = [];
  const library = raw.library.includes('/') ? resolve(base, raw.library) : raw.library;
  if (library !== raw.library && !isFile(library)) problems.push({ path: ['library'], message: `no such file ${JSON.stringify(raw.library)} (looked for ${library}; paths are relative to the spec's directory)` });
  if (raw.cases.length === 0 && raw.corpus.length === 0) problems.push({ path: [], message: 'the spec has no cases and no corpus: nothing to run' });

  const signatures = new Map<string, CallSignature | PrototypeError>();
  const signatureOf = (fn: string): CallSignature | PrototypeError => {
    let signature = signatures.get(fn);
    if (signature === undefined) {
      try {
        signature = buildSignature(fn);
      } catch (error) {
        if (!(error instanceof PrototypeError)) throw error;
        signature = error;
      }
      signatures.set(fn, signature);
    }
    return signature;
  };

  const cases: HarnessCase[] = [];
  const corpora: CorpusEntry[] = [];
  const names = new Map<string, number>();
  raw.cases.forEach((entry, index) => {
    const at: PathSegment[] = ['cases', index];
    const earlier = names.get(entry.name);
    if (earlier !== undefined) problems.push({ path: [...at, 'name'], message: `${JSON.stringify(entry.name)} is already the name of cases[${earlier}]` });
    else names.set(entry.name, index);
    const abi = entry.abi ?? raw.abi ?? 'auto';
    const args = entry.args ?? (abi === 'vaccel' ? {} : []);
    const expectsInvalid = 'code' in entry.expect && entry.expect.code === 'INVALID_ARGUMENT';
    if (abi === 'c' || (abi === 'auto' && isPrototype(entry.fn))) {
      const signature = signatureOf(entry.fn);
      if (signature instanceof PrototypeError) problems.push({ path: [...at, 'fn'], message: signature.message });
      else if (!expectsInvalid) problems.push(...checkCaseArguments(signature, entry.args, args, at));
    } else if (abi === 'vaccel' && !expectsInvalid) {
      try {
        checkVaccelArguments(args);
      } catch (error) {
        if (!(error instanceof VaccelArgumentError)) throw error;
        const inList = error.list !== null && error.index !== null && entry.args !== undefined;
        problems.push({ path: inList ? [...at, 'args', error.list!, error.index!] : [...at, 'args'], message: error.message });
      }
    }
    cases.push({ name: entry.name, group: 'cases', suite: 'cases', path: `cases[${index}]`, fn: entry.fn, args, abi, limits: entry.limits ?? {}, expect: entry.expect });
  });

  raw.corpus.forEach((entry, index) => {
    const at: PathSegment[] = ['corpus', index];
    const abi = entry.abi ?? raw.abi ?? 'auto';
    if (abi === 'vaccel') problems.push({ path: [...at, 'abi'], message: 'a corpus passes each file as the one argument; vaccel calls take read/write lists (write a case instead)' });
    else if (abi === 'c' || (abi === 'auto' && isPrototype(entry.fn))) {
      const signature = signatureOf(entry.fn);
      if (signature instanceof PrototypeError) problems.push({ path: [...at, 'fn'], message: signature.message });
      else if (!takesBytes(signature)) {
        problems.push({ path: [...at, 'fn'], message: `a corpus fn takes the file's bytes as its one argument, such as int decode(const uint8_t *data, size_t len); ${JSON.stringify(entry.fn)} takes ${signature.slots.length === 1 ? `a ${signature.slots[0]!.ctype}` : `${signature.slots.length} arguments`}` });
      }
    }
    const dir = resolve(base, entry.dir);
    const files = listCorpus(dir, entry.dir);
    if (typeof files === 'string') {
      problems.push({ path: [...at, 'dir'], message: files });
      return;
    }
    // An empty corpus would pass without testing anything: most often a wrong or unfilled dir.
    if (files.length === 0) problems.push({ path: [...at, 'dir'], message: `no input files in ${JSON.stringify(entry.dir)} (looked in ${dir}; dot files are skipped): a corpus needs at least one` });
    const prefix = entry.name ?? (relative(base, dir) || '.');
    corpora.push({ name: prefix, fn: entry.fn, dir, abi, limits: entry.limits ?? {}, expect: entry.expect });
    for (const path of files) {
      const shown = relative(dir, path).split(sep).join('/');
      cases.push({ name: `${prefix}/${shown}`, group: `corpus[${index}]`, suite: prefix, path: `corpus[${index}]`, fn: entry.fn, file: path, abi, limits: entry.limits ?? {}, expect: entry.expect });
    }
  });

  if (problems.length > 0) throw located.error(file, problems);
  return {
    file: resolve(file),
    library,
    ...(raw.workers !== undefined && { workers: raw.workers }),
    ...(raw.ship !== undefined && { ship: raw.ship }),
    limits: raw.limits ?? {},
    ...(raw.sha256 !== undefined && { sha256: raw.sha256 }),
    ...(raw.vaccelArgLayout !== undefined && { vaccelArgLayout: raw.vaccelArgLayout }),
    ...(raw.env !== undefined && { env: raw.env }),
    ...(raw.passEnv !== undefined && { passEnv: raw.passEnv }),
    ...(raw.sandbox !== undefined && { sandbox: specSandbox(raw.sandbox, base) }),
    cases,
    corpora,
  };
}

/** Checks a case's arguments against its prototype; problems point at the offending argument. */
function checkCaseArguments(signature: CallSignature, written: unknown, args: unknown, at: PathSegment[]): LocatedProblem[] {
  if (!Array.isArray(args)) return [{ path: [...at, 'args'], message: `arguments of a C call are a list, got ${describeSpecValue(args)}` }];
  try {
    checkArguments(signature, args);
    return [];
  } catch (error) {
    if (!(error instanceof ArgumentError)) throw error;
    const onArgument = written !== undefined && error.position < args.length && args.length === signature.slots.length;
    return [{ path: onArgument ? [...at, 'args', error.position] : written === undefined ? at : [...at, 'args'], message: error.message }];
  }
}

/** Whether a prototype takes one byte buffer (`const uint8_t *data, size_t len`, or a `const char *`). */
export function takesBytes(signature: CallSignature): boolean {
  if (signature.slots.length !== 1) return false;
  const slot = signature.slots[0]!;
  return slot.kind === 'string' || (slot.kind === 'array-in' && slot.element.kind === 'int' && slot.element.bits === 8);
}

/**
 * The regular files under `dir`, recursively (symlinked directories are not followed), in
 * natural order (`2` before `10`), dot files skipped; a string saying what is wrong when it
 * cannot be listed.
 */
export function listCorpus(dir: string, written: string): string[] | string {
  if (!(statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false)) {
    return `no such directory ${JSON.stringify(written)} (looked for ${dir}; paths are relative to the spec's directory)`;
  }
  const found: string[] = [];
  const walk = (at: string): void => {
    const entries = readdirSync(at, { withFileTypes: true }).sort((a, b) => naturalCompare(a.name, b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() || (entry.isSymbolicLink() && isFile(path))) found.push(path);
    }
  };
  try {
    walk(dir);
  } catch (error) {
    return `cannot list ${JSON.stringify(written)}: ${(error as Error).message}`;
  }
  return found;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function valueAt(root: unknown, path: PathSegment[]): unknown {
  return path.reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/** `cases[1].expect.code`, `limits["odd key"]` */
export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    if (/^[A-Za-z_$][\w$]*$/.test(segment)) return text ? `${text}.${segment}` : segment;
    return `${text}[${JSON.stringify(segment)}]`;
  }, '');
}

/**
 * Finds where a path lies in the spec's text through the yaml package's document API (JSON
 * parses as YAML too), so that problems carry a line and column.
 */
class SpecLocator {
  private doc: Document.Parsed | undefined;
  private readonly lines = new LineCounter();

  constructor(private readonly text: string) {}

  /** The text as a YAML document with integers as bigints (parsed once). */
  get document(): Document.Parsed {
    this.doc ??= parseDocument(this.text, { lineCounter: this.lines, intAsBigInt: true, prettyErrors: true });
    return this.doc;
  }

  /** 1-based line and column of a character offset. */
  linePos(offset: number): { line: number; column: number } {
    void this.document; // the line counter fills while the document parses
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** A SpecError with each problem's line, sorted by position. */
  error(file: string, problems: LocatedProblem[]): SpecError {
    const located = problems.map(({ path, message }): SpecProblem => ({ path: formatPath(path), message, ...this.locate(path) }));
    located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    return new SpecError(file, located);
  }

  /** The line of the deepest node on `path` (a key's own line for a mapping entry). */
  private locate(path: PathSegment[]): { line?: number; column?: number } {
    if (path.length === 0) return {};
    let node: unknown = this.document.contents;
    let offset: number | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.document);
      if (isMap(node)) {
        const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === String(segment));
        if (pair === undefined) break;
        offset = (pair.key as YamlNode | null)?.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as YamlNode | undefined;
        if (item === undefined) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    return offset === undefined ? {} : this.linePos(offset);
  }
}

/** A spec's sandbox with its paths made absolute against the spec file's directory. */
function specSandbox(sandbox: z.output<typeof SandboxOptionsSchema>, base: string): SandboxOptions {
  if (typeof sandbox === 'boolean') return sandbox;
  return { ...sandbox, readable: sandbox.readable.map((path) => resolve(base, path)), writable: sandbox.writable.map((path) => resolve(base, path)) };
}
