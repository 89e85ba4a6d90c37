import type { Limits, LogLevel } from '@airlock/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { WorkerGroup } from '../options/host-options.js';
import { parseLauncher, parseWorkersArgument, splitCommandLine } from '../remote/launcher.js';
import type { SandboxOptions } from '../sandbox/sandbox-options.js';
import { DEFAULT_PASS_ENV } from '../worker/worker-launch.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `500ms`, `2s`, `1.5m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration such as 500ms, 2s or 1m, got ${JSON.stringify(text)}`);
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]!);
  if (ms <= 0) throw new InvalidArgumentError(`expected a positive duration, got ${JSON.stringify(text)}`);
  return ms;
}

/** `64K`, `1M`, `1G` (powers of 1024), or a bare number of bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a size such as 64K, 256M or 1G, got ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!);
  if (bytes <= 0) throw new InvalidArgumentError(`expected a positive size, got ${JSON.stringify(text)}`);
  return bytes;
}

/** A positive whole number. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) throw new InvalidArgumentError(`expected a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Log levels by name or by vAccel's numbers 1–4. */
export function parseLogLevel(text: string): LogLevel {
  const byNumber: Record<string, LogLevel> = { '1': 'error', '2': 'warn', '3': 'info', '4': 'debug' };
  const level = byNumber[text] ?? text.toLowerCase();
  if (!['error', 'warn', 'info', 'debug'].includes(level)) {
    throw new InvalidArgumentError(`expected error, warn, info, debug (or 1-4), got ${JSON.stringify(text)}`);
  }
  return level as LogLevel;
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds the limit options shared by call, exec, shell and harness. */
export function addLimitOptions(command: Command): Command {
  return command
    .addOption(new Option('--timeout <dur>', 'wall clock for one call (e.g. 500ms, 2s)').argParser(parseDuration))
    .addOption(new Option('--memory <size>', 'memory the plugin may add on top of the worker (e.g. 64M)').argParser(parseSize))
    .addOption(new Option('--cpu <dur>', 'CPU time of the worker during a call').argParser(parseDuration))
    .addOption(new Option('--max-open-files <n>', 'file descriptors the plugin may open').argParser(parseCount))
    .addOption(new Option('--max-processes <n>', 'processes and threads the plugin may start').argParser(parseCount))
    .addOption(new Option('--max-output <size>', 'bytes the plugin may write to stdout/stderr per call').argParser(parseSize));
}

/** The limits given on the command line. */
export function limitsFrom(options: Record<string, unknown>): Limits {
  const limits: Limits = {};
  if (options.timeout !== undefined) limits.timeoutMs = options.timeout as number;
  if (options.memory !== undefined) limits.memoryBytes = options.memory as number;
  if (options.cpu !== undefined) limits.cpuMs = options.cpu as number;
  if (options.maxOpenFiles !== undefined) limits.maxOpenFiles = options.maxOpenFiles as number;
  if (options.maxProcesses !== undefined) limits.maxProcesses = options.maxProcesses as number;
  if (options.maxOutput !== undefined) limits.maxOutputBytes = options.maxOutput as number;
  return limits;
}

/** Adds `--json` and `--log-level`. */
export function addOutputOptions(command: Command): Command {
  return command
    .option('--json', 'print one JSON object: {"ok":true,"result":…} or {"ok":false,"error":{…}}')
    .addOption(new Option('--log-level <level>', 'error|warn|info|debug (or 1-4): plugin output shows at info and above').argParser(parseLogLevel).default('info'));
}

/** Adds `--sandbox` and what it lets in: shared by call, inspect and exec. */
export function addSandboxOptions(command: Command): Command {
  return command
    .option('--sandbox', 'run the worker in a sandbox (bubblewrap): its own PID namespace, uid nobody, no network, a read-only view of the system and the library')
    .option('--sandbox-read <path>', 'a file or directory the sandboxed plugin may read (repeatable; implies --sandbox)', collect)
    .option('--sandbox-write <path>', 'a file or directory the sandboxed plugin may read and write (repeatable; implies --sandbox)', collect)
    .option('--sandbox-network', "give the sandboxed plugin the host's network (implies --sandbox)");
}

/** The sandbox asked for on the command line (undefined: none). */
export function sandboxFrom(options: Record<string, unknown>): SandboxOptions | undefined {
  const readable = (options.sandboxRead as string[] | undefined) ?? [];
  const writable = (options.sandboxWrite as string[] | undefined) ?? [];
  const network = options.sandboxNetwork === true;
  if (options.sandbox !== true && readable.length === 0 && writable.length === 0 && !network) return undefined;
  return { network, readable, writable };
}

/** `NAME=VALUE`, as `--env` takes it. */
function parseEnvAssignment(text: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected NAME=VALUE, got ${JSON.stringify(text)}`);
  return [...previous, [text.slice(0, at), text.slice(at + 1)]];
}

/** Adds `--env` and `--pass-env`: the worker's environment, which otherwise holds only LD_LIBRARY_PATH of this process's. */
export function addWorkerEnvOptions(command: Command): Command {
  return command
    .option('--env <NAME=VALUE>', "set a variable in the worker's environment (repeatable)", parseEnvAssignment)
    .option('--pass-env <NAME>', 'pass one of this process\'s variables to the worker (repeatable; LD_LIBRARY_PATH is passed anyway)', collect);
}

/** The worker's environment asked for on the command line, as host options. */
export function workerEnvFrom(options: Record<string, unknown>): { env: Record<string, string>; passEnv: string[] } {
  const env = Object.fromEntries((options.env as Array<[string, string]> | undefined) ?? []);
  return { env, passEnv: [...DEFAULT_PASS_ENV, ...((options.passEnv as string[] | undefined) ?? [])] };
}

/** Wraps a parser that throws plain errors as commander's, so that the message reaches the user as a usage error. */
function usageParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/**
 * Adds where the workers run: `--workers N` or `N@'launcher'` (repeatable: the groups of the pool,
 * replacing the spec's), `--launcher` (for the groups that name none), `--remote-command` and
 * `--ship`. `pool` says whether the command runs more than one worker (call and inspect run one).
 */
export function addPoolOptions(command: Command, pool: boolean): Command {
  if (pool) {
    command.option('--workers <N|N@launcher>', "worker processes running in parallel: N local ones, or N@'ssh build-box' through a launcher (repeatable: one group each)", (text: string, previous: WorkerGroup[] = []) => [
      ...previous,
      usageParser(parseWorkersArgument)(text),
    ]);
  }
  return command
    .addOption(new Option('--launcher <command>', `run the worker${pool ? 's' : ''} on another machine through this command prefix, such as 'ssh build-box' or 'docker exec -i box'`).argParser(usageParser(parseLauncher)))
    .addOption(new Option('--remote-command <command>', "what the launcher runs on the other side (default: airlock-worker --remote)").argParser(usageParser(splitCommandLine)))
    .option('--ship', 'send the library to workers on other machines by its content (sha256) instead of loading it from the same path there');
}

/** The workers and shipping asked for on the command line (absent: the spec's, or one local worker). */
export function poolFrom(options: Record<string, unknown>): { workers?: number | WorkerGroup[]; ship?: boolean } {
  const launcher = options.launcher as string[] | undefined;
  const command = options.remoteCommand as string[] | undefined;
  let groups = (options.workers as WorkerGroup[] | undefined) ?? (launcher !== undefined ? [{ count: 1 }] : undefined);
  if (groups !== undefined && (launcher !== undefined || command !== undefined)) {
    groups = groups.map((group) => {
      const through = group.launcher ?? launcher;
      return through === undefined ? group : { ...group, launcher: through, ...(command !== undefined && { command }) };
    });
  }
  const workers = groups?.length === 1 && groups[0]!.launcher === undefined ? groups[0]!.count : groups;
  return { ...(workers !== undefined && { workers }), ...(options.ship === true && { ship: true }) };
}
