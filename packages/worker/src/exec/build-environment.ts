// The environment of a command, built from nothing: a pure module (no I/O), so that every rule
// below is unit-tested on its own. The worker (exec-operation.ts) and the interactive shell
// (shell-main.ts) materialise the plan it returns.
import { join, resolve } from 'node:path';

/** PATH when the spec gives none. */
export const DEFAULT_PATH: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin'];

/** Files grouped by name: a plain list is the unnamed group. */
export type FileGroups = string[] | Record<string, string[]>;

/** A spec that cannot make an environment (a name collision, a bad tool name …). */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

export interface EnvironmentInput {
  /** Literals, with `passEnv` already resolved into them by the host. */
  env: Record<string, string>;
  /** PATH directories replacing the default (an `env.PATH` stands in when this is absent). */
  path?: readonly string[] | undefined;
  /** Tools put first on PATH: name → executable. */
  tools?: Record<string, string> | undefined;
  deps?: FileGroups | undefined;
  out?: FileGroups | undefined;
  /** The command's working directory (absolute). Relative deps and outputs are resolved against it. */
  cwd: string;
  /** WORKSPACE_ROOT (absolute). */
  workspaceRoot: string;
  /** A private directory for the bin dir and list files (absolute). */
  scratchDir: string;
}

/** One declared output. */
export interface PlannedOutput {
  /** Absolute path. */
  path: string;
  /** Declared with a trailing slash: the directory itself is created. */
  directory: boolean;
}

/** What has to exist before the command starts, and the environment it gets. */
export interface EnvironmentPlan {
  env: Record<string, string>;
  /** Directory of the tool links, first on PATH (absent without tools). */
  binDir: string | undefined;
  /** Symlinks to create in binDir: `link` → `target`. */
  links: Array<{ name: string; link: string; target: string }>;
  /** Files to write (LIST_SRC …). */
  files: Array<{ path: string; content: string }>;
  /** Directories to create (outputs' parents, directory outputs). */
  directories: string[];
  outputs: PlannedOutput[];
}

/** `my-tool` → `MY_TOOL`: the suffix of TOOL_/SRC_/OUT_ variables. */
export function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** A file name a tool may have in the bin dir. */
export function isValidToolName(name: string): boolean {
  return /^[A-Za-z0-9_.+@-]+$/.test(name) && name !== '.' && name !== '..';
}

/** An environment variable name the kernel and shells accept as a plain assignment. */
export function isValidEnvName(name: string): boolean {
  return name.length > 0 && !name.includes('=') && !name.includes('\0');
}

/** Named groups of a FileGroups value, the unnamed one under ''. */
function groupsOf(files: FileGroups | undefined): Array<[string, string[]]> {
  if (files === undefined) return [];
  if (Array.isArray(files)) return [['', files]];
  return Object.entries(files);
}

/** Builds the command's environment and everything that must exist for it. Throws EnvironmentError. */
export function buildEnvironment(input: EnvironmentInput): EnvironmentPlan {
  const generated = new Map<string, { value: string; why: string }>();
  const files: EnvironmentPlan['files'] = [];
  const directories = new Set<string>();
  const outputs: PlannedOutput[] = [];
  const set = (name: string, value: string, why: string) => {
    const previous = generated.get(name);
    if (previous !== undefined) throw new EnvironmentError(`${why} and ${previous.why} both set $${name}: rename one of them`);
    generated.set(name, { value, why });
  };

  // Tools: links in a bin dir put first on PATH, TOOL_<NAME> for each, TOOL for all.
  const tools = Object.entries(input.tools ?? {});
  const binDir = tools.length > 0 ? join(input.scratchDir, 'bin') : undefined;
  const links: EnvironmentPlan['links'] = [];
  for (const [name, target] of tools) {
    if (!isValidToolName(name)) {
      throw new EnvironmentError(`tool name ${JSON.stringify(name)} is not a valid file name (letters, digits and . _ + @ - only)`);
    }
    if (target.length === 0) throw new EnvironmentError(`tool ${JSON.stringify(name)} has an empty path`);
    const absolute = resolve(input.cwd, target);
    links.push({ name, link: join(binDir!, name), target: absolute });
    set(`TOOL_${envSuffix(name)}`, absolute, `tool ${JSON.stringify(name)}`);
  }
  if (tools.length > 0) set('TOOL', links.map((l) => l.target).join(' '), 'the tools');

  // Deps: SRC (all), SRC_<GROUP>, and the same lists one path a line in LIST_SRC files.
  const depGroups = groupsOf(input.deps);
  if (depGroups.length > 0) {
    const all: string[] = [];
    for (const [group, paths] of depGroups) {
      const absolute = paths.map((p) => resolve(input.cwd, p));
      all.push(...absolute);
      if (group === '') continue;
      const suffix = envSuffix(group);
      set(`SRC_${suffix}`, absolute.join(' '), `deps group ${JSON.stringify(group)}`);
      const list = join(input.scratchDir, `list_src_${suffix.toLowerCase()}`);
      files.push({ path: list, content: lines(absolute) });
      set(`LIST_SRC_${suffix}`, list, `deps group ${JSON.stringify(group)}`);
    }
    set('SRC', all.join(' '), 'the deps');
    const list = join(input.scratchDir, 'list_src');
    files.push({ path: list, content: lines(all) });
    set('LIST_SRC', list, 'the deps');
  }

  // Outputs: OUT (all), OUT_<GROUP>; parent directories created.
  const outGroups = groupsOf(input.out);
  if (outGroups.length > 0) {
    const all: string[] = [];
    for (const [group, paths] of outGroups) {
      const absolute: string[] = [];
      for (const declared of paths) {
        if (declared.length === 0) throw new EnvironmentError('an output path is empty');
        const path = resolve(input.cwd, declared);
        const directory = declared.endsWith('/');
        outputs.push({ path, directory });
        directories.add(directory ? path : resolve(path, '..'));
        absolute.push(path);
      }
      all.push(...absolute);
      if (group !== '') set(`OUT_${envSuffix(group)}`, absolute.join(' '), `out group ${JSON.stringify(group)}`);
    }
    set('OUT', all.join(' '), 'the outputs');
  }

  set('WORKSPACE_ROOT', input.workspaceRoot, 'the workspace root');

  // Literals may not shadow what airlock sets; PATH is the exception: it stands in for `path`.
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.env)) {
    if (!isValidEnvName(name)) throw new EnvironmentError(`environment variable name ${JSON.stringify(name)} is not valid`);
    if (value.includes('\0')) throw new EnvironmentError(`environment variable ${name} contains a NUL byte`);
    if (name === 'PATH') continue;
    const taken = generated.get(name);
    if (taken) throw new EnvironmentError(`env.${name} collides with $${name}, which ${taken.why} set${taken.why.startsWith('the ') ? '' : 's'}`);
    env[name] = value;
  }
  const base = input.path ?? (input.env.PATH !== undefined ? input.env.PATH.split(':').filter((d) => d.length > 0) : DEFAULT_PATH);
  for (const dir of base) if (dir.includes(':')) throw new EnvironmentError(`PATH directory ${JSON.stringify(dir)} contains a ':'`);
  env.PATH = [...(binDir ? [binDir] : []), ...base].join(':');
  for (const [name, { value }] of generated) env[name] = value;

  return { env, binDir, links, files, directories: [...directories], outputs };
}

function lines(paths: string[]): string {
  return paths.length === 0 ? '' : `${paths.join('\n')}\n`;
}

// ---- Fitting the kernel's limit on arguments + environment (E2BIG) ----

/** The kernel's limit on one argument or environment string, NUL included (MAX_ARG_STRLEN). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** The kernel's floor and ceiling for the total (ARG_MAX: 32 pages; 3/4 of _STK_LIM). */
const ARG_MIN_TOTAL = 32 * 4096;
const ARG_MAX_TOTAL = ((8 * 1024 * 1024) / 4) * 3;
/** Room left for what the kernel adds (the file name, auxv, alignment). */
const SAFETY_MARGIN = 4096;

/**
 * Bytes execve() accepts for argv + envp with this stack limit: a quarter of the stack, at
 * least 128 KiB, at most 6 MiB (fs/exec.c). `stackLimit` undefined or unlimited means 6 MiB.
 */
export function argMax(stackLimit: bigint | number | undefined): number {
  if (stackLimit === undefined) return ARG_MAX_TOTAL;
  const stack = typeof stackLimit === 'bigint' ? (stackLimit >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(stackLimit)) : stackLimit;
  return Math.max(ARG_MIN_TOTAL, Math.min(ARG_MAX_TOTAL, Math.floor(stack / 4)));
}

/** Bytes an argv + envp take on the new stack: strings with their NULs plus one pointer each. */
export function execSize(argv: readonly string[], env: Record<string, string>): number {
  let bytes = 0;
  for (const arg of argv) bytes += Buffer.byteLength(arg) + 1 + 8;
  for (const [name, value] of Object.entries(env)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 2 + 8;
  return bytes + 8 * 2;
}

/** Never dropped: the command cannot run without them, and they are small. */
const KEPT = /^(PATH|WORKSPACE_ROOT|LIST_SRC(_.*)?)$/;

export interface FittedEnvironment {
  env: Record<string, string>;
  /** One message per dropped variable. */
  warnings: string[];
  /** False when even the trimmed environment (or argv alone) cannot fit. */
  fits: boolean;
}

/**
 * Trims an environment so that execve() will not fail with E2BIG: first any variable longer
 * than one string may be, then the largest variables until the total fits — the SRC lists
 * first (their LIST_SRC files carry the same paths), then anything else but PATH,
 * WORKSPACE_ROOT and the LIST_SRC files. Each drop is reported as a warning.
 */
export function fitEnvironment(env: Record<string, string>, argv: readonly string[], limit: number): FittedEnvironment {
  const result: Record<string, string> = { ...env };
  const warnings: string[] = [];
  const sizeOf = (name: string) => Buffer.byteLength(name) + Buffer.byteLength(result[name]!) + 2;
  const drop = (name: string, why: string) => {
    const bytes = sizeOf(name);
    delete result[name];
    const list = name.startsWith('SRC') && result[`LIST_${name}`] !== undefined ? `; the same list is in the file $LIST_${name}` : '';
    warnings.push(`$${name} (${bytes} bytes) was left out of the environment: ${why}${list}`);
  };
  for (const name of Object.keys(result)) {
    if (sizeOf(name) > MAX_ARG_STRLEN && !KEPT.test(name)) drop(name, `one variable may not exceed the kernel's ${MAX_ARG_STRLEN} bytes`);
  }
  const budget = limit - SAFETY_MARGIN;
  let size = execSize(argv, result);
  if (size > budget) {
    const candidates = Object.keys(result)
      .filter((name) => !KEPT.test(name))
      .sort((a, b) => rank(b) - rank(a) || sizeOf(b) - sizeOf(a));
    for (const name of candidates) {
      if (size <= budget) break;
      const bytes = sizeOf(name) + 8;
      drop(name, `the environment and arguments exceeded the kernel's ${limit}-byte limit`);
      size -= bytes;
    }
  }
  const tooLong = [...argv, ...Object.entries(result).map(([k, v]) => `${k}=${v}`)].some((s) => Buffer.byteLength(s) + 1 > MAX_ARG_STRLEN);
  return { env: result, warnings, fits: size <= budget && !tooLong };
}

/** SRC lists go first (they have list files), then everything else. */
function rank(name: string): number {
  return /^SRC(_.*)?$/.test(name) ? 1 : 0;
}
