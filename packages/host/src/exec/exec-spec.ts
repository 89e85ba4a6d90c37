// What `host.exec(spec)` and `plugin-run exec|shell` accept, checked with zod before any worker
// is involved (an unknown key is INVALID_ARGUMENT naming it), and resolved against the caller:
// `passEnv` names are read from the caller's environment, relative paths made absolute, bare
// tool names looked up on the caller's PATH.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { type Driver, DriverSchema, type ExecParams, type Limits, LimitsSchema, type SameType } from '@airlock/protocol';
import { z } from 'zod';
import { AirlockError } from '../errors/airlock-error.js';
import { parseOptions } from '../options/host-options.js';

const EnvNameSchema = z
  .string()
  .min(1)
  .refine((name) => !name.includes('=') && !name.includes('\0'), 'an environment variable name may not contain "=" or a NUL byte');
const PathSchema = z.string().min(1);
/** Files grouped by name: a plain list is the unnamed group. */
const FileGroupsSchema = z.union([z.array(PathSchema), z.record(z.string().min(1), z.array(PathSchema))]);

/** Files grouped by name (`{ GROUP: [paths] }`), or a plain list: the unnamed group. */
export type FileGroups = string[] | Record<string, string[]>;

/** The spec of `host.exec`: a command, its driver, its environment, and any limit. */
export interface ExecSpec extends Limits {
  /** `exec` (argv, no shell), `bash` or `sh`. Default: `bash` for a string, `exec` for an array. */
  driver?: Driver | undefined;
  /** argv for `exec`; a script for `bash`/`sh` (an array is joined by spaces). */
  run: string | string[];
  /** Variables set as given. Default {}. */
  env?: Record<string, string> | undefined;
  /** Names of the caller's variables passed on (absent ones are skipped). Default []. */
  passEnv?: string[] | undefined;
  /** PATH directories replacing the default /usr/local/bin:/usr/bin:/bin. */
  path?: string[] | undefined;
  /** Tools put first on PATH: name → executable (a bare name is looked up on the caller's PATH), also as $TOOL_<NAME>. Default {}. */
  tools?: Record<string, string> | undefined;
  /** Inputs: SRC, SRC_<GROUP>, LIST_SRC. */
  deps?: FileGroups | undefined;
  /** Outputs: OUT, OUT_<GROUP>; their directories are created; a trailing / declares a directory. */
  out?: FileGroups | undefined;
  /** Working directory, relative to workspaceRoot. Default: workspaceRoot. */
  cwd?: string | undefined;
  /** WORKSPACE_ROOT. Default: the host's cwd. */
  workspaceRoot?: string | undefined;
  /** Written to the command's stdin; without it stdin is /dev/null. */
  stdin?: string | undefined;
  /** Aborting it cancels the command (CANCELLED), killing its worker if it is running. */
  signal?: AbortSignal | undefined;
}

/** The schema of {@link ExecSpec} (each key is documented there). */
export const ExecSpecSchema = z.strictObject({
  ...LimitsSchema.shape,
  driver: DriverSchema.optional(),
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  env: z.record(EnvNameSchema, z.string()).default({}),
  passEnv: z.array(EnvNameSchema).default([]),
  path: z.array(PathSchema).optional(),
  tools: z.record(z.string().min(1), PathSchema).default({}),
  deps: FileGroupsSchema.optional(),
  out: FileGroupsSchema.optional(),
  cwd: PathSchema.optional(),
  workspaceRoot: PathSchema.optional(),
  stdin: z.string().optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'signal must be an AbortSignal').optional(),
});
const execSpecMatch: SameType<ExecSpec, z.input<typeof ExecSpecSchema>> = true;
void execSpecMatch;

/** Where the spec is resolved: the host's cwd and the environment `passEnv` reads. */
export interface CallerContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A spec checked and resolved: what goes to the worker, the call's own limits, its signal. */
export interface ResolvedExec {
  params: Omit<ExecParams, 'limits'> & { driver: Driver };
  limits: Partial<Limits>;
  signal: AbortSignal | undefined;
}

/** Checks and resolves a spec; throws INVALID_ARGUMENT naming what is wrong. */
export function resolveExecSpec(spec: unknown, caller: CallerContext): ResolvedExec {
  const parsed = parseOptions(ExecSpecSchema, spec, 'exec spec');
  const driver = parsed.driver ?? (typeof parsed.run === 'string' ? 'bash' : 'exec');
  if (driver === 'exec') {
    if (typeof parsed.run === 'string') {
      throw new AirlockError('INVALID_ARGUMENT', `Invalid exec spec: driver 'exec' runs an argv (an array such as ["ls", "-l"]); give run as an array, or choose driver 'bash' or 'sh' for a command line`);
    }
    if (parsed.run[0] === '') throw new AirlockError('INVALID_ARGUMENT', 'Invalid exec spec: run[0] (the program) is empty');
  }

  const env: Record<string, string> = {};
  for (const name of parsed.passEnv) {
    const value = caller.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, parsed.env);

  const workspaceRoot = resolve(caller.cwd, parsed.workspaceRoot ?? '.');
  const cwd = resolve(workspaceRoot, parsed.cwd ?? '.');
  const tools: Record<string, string> = {};
  for (const [name, target] of Object.entries(parsed.tools)) {
    if (!/^[A-Za-z0-9_.+@-]+$/.test(name) || name === '.' || name === '..') {
      throw new AirlockError('INVALID_ARGUMENT', `Invalid exec spec: tools: ${JSON.stringify(name)} is not a valid tool name (letters, digits and . _ + @ - only)`);
    }
    const found = target.includes('/') ? resolve(cwd, target) : findOnPath(target, caller.env.PATH ?? '');
    if (found === undefined) {
      throw new AirlockError('INVALID_ARGUMENT', `Invalid exec spec: tools.${name}: ${JSON.stringify(target)} was not found on the caller's PATH`);
    }
    tools[name] = found;
  }

  const { timeoutMs, memoryBytes, cpuMs, maxOpenFiles, maxProcesses, maxOutputBytes } = parsed;
  const limits: Partial<Limits> = { timeoutMs, memoryBytes, cpuMs, maxOpenFiles, maxProcesses, maxOutputBytes };
  const params: ResolvedExec['params'] = {
    driver,
    run: parsed.run,
    env,
    tools,
    cwd,
    workspaceRoot,
    ...(parsed.path !== undefined && { path: parsed.path.map((dir) => resolve(cwd, dir)) }),
    ...(parsed.deps !== undefined && { deps: mapGroups(parsed.deps, (p) => resolve(cwd, p)) }),
    ...(parsed.out !== undefined && { out: mapGroups(parsed.out, (p) => resolve(cwd, p) + (p.endsWith('/') ? '/' : '')) }),
    ...(parsed.stdin !== undefined && { stdin: parsed.stdin }),
  };
  return { params, limits, signal: parsed.signal };
}

function mapGroups(groups: string[] | Record<string, string[]>, map: (path: string) => string): string[] | Record<string, string[]> {
  if (Array.isArray(groups)) return groups.map(map);
  return Object.fromEntries(Object.entries(groups).map(([name, paths]) => [name, paths.map(map)]));
}

/** A program on a PATH, as execvp() would find it. */
function findOnPath(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return resolve(candidate);
    } catch {
      /* next */
    }
  }
  return undefined;
}
