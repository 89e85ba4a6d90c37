// The command-line options `plugin-run exec` and `plugin-run shell` share, and the exec spec
// they make.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { collect } from '../cli/options.js';
import type { ExecSpec } from './exec-spec.js';

/** `NAME=VALUE` → [NAME, VALUE]. */
export function parseAssignment(text: string, what: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected ${what}, got ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** `[GROUP=]PATH` → [group or '', path]. */
export function parseGroupedPath(text: string): [string, string] {
  const match = /^([A-Za-z0-9_-]+)=(.+)$/.exec(text);
  return match ? [match[1]!, match[2]!] : ['', text];
}

/** Adds the driver and environment options; `drivers` are the ones this command accepts. */
export function addCommandOptions(command: Command, drivers: string[], defaultDriver: string): Command {
  return command
    .addOption(new Option('--driver <driver>', 'how to run the command').choices(drivers).default(defaultDriver))
    .option('--env <NAME=VALUE>', 'set a variable (repeatable)', collect)
    .option('--pass-env <NAME>', "pass one of this process's variables on (repeatable)", collect)
    .option('--path <dir>', 'a PATH directory, replacing the default /usr/local/bin:/usr/bin:/bin (repeatable)', collect)
    .option('--tool <NAME=PATH>', 'put a tool first on PATH, as $TOOL_<NAME> too (repeatable)', collect)
    .option('--dep <[GROUP=]PATH>', 'an input: $SRC, $SRC_<GROUP>, $LIST_SRC (repeatable)', collect)
    .option('--out <[GROUP=]PATH>', 'an output: $OUT, $OUT_<GROUP>; its directory is created; end with / for a directory (repeatable)', collect)
    .option('--cwd <dir>', 'working directory (relative to the workspace root)')
    .option('--workspace-root <dir>', '$WORKSPACE_ROOT (default: the current directory)');
}

/** The exec spec the options describe (limits apart). */
export function specFromOptions(options: Record<string, unknown>, run: string | string[]): ExecSpec {
  const env = Object.fromEntries(((options.env as string[] | undefined) ?? []).map((text) => parseAssignment(text, 'NAME=VALUE')));
  const tools = Object.fromEntries(((options.tool as string[] | undefined) ?? []).map((text) => parseAssignment(text, 'NAME=PATH')));
  const spec: ExecSpec = {
    driver: options.driver as 'exec' | 'bash' | 'sh',
    run,
    env,
    passEnv: (options.passEnv as string[] | undefined) ?? [],
    tools,
  };
  if (options.path !== undefined) spec.path = options.path as string[];
  const deps = groups(options.dep as string[] | undefined, '--dep');
  if (deps !== undefined) spec.deps = deps;
  const out = groups(options.out as string[] | undefined, '--out');
  if (out !== undefined) spec.out = out;
  if (options.cwd !== undefined) spec.cwd = options.cwd as string;
  if (options.workspaceRoot !== undefined) spec.workspaceRoot = options.workspaceRoot as string;
  return spec;
}

function groups(values: string[] | undefined, flag: string): string[] | Record<string, string[]> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const parsed = values.map(parseGroupedPath);
  const named = parsed.filter(([group]) => group !== '');
  if (named.length === 0) return parsed.map(([, path]) => path);
  if (named.length !== parsed.length) {
    throw new InvalidArgumentError(`${flag}: give every path a group (GROUP=PATH) or none`);
  }
  const result: Record<string, string[]> = {};
  for (const [group, path] of parsed) (result[group] ??= []).push(path);
  return result;
}
