// heph's three drivers as command lines, the lookup of a program on the command's PATH, and
// the wrapper that applies a command's limits before it execs. Pure but for the file checks,
// which are injected.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Driver } from '@airlock/protocol';

/** `bash --noprofile --norc -o pipefail -u -e`: no rc files, a failing pipe stage fails, unset variables are errors. */
export const BASH_FLAGS: readonly string[] = ['--noprofile', '--norc', '-o', 'pipefail', '-u', '-e'];
/** `sh -u -e`: POSIX sh (dash on Debian), no bash-isms. */
export const SH_FLAGS: readonly string[] = ['-u', '-e'];
/** A script longer than this goes through a file instead of `-c` (the kernel caps one argument at 128 KiB). */
export const INLINE_SCRIPT_MAX = 64 * 1024;
/** Where bash and sh are looked for when the command's PATH does not have them. */
const SHELL_FALLBACK_DIRS = ['/usr/bin', '/bin'];

/** The command line of a driver, before the program is looked up. */
export interface DriverCommand {
  /** The program to look up: argv[0] for `exec`, `bash` or `sh` for the shells. */
  program: string;
  /** argv as the command will see it (argv[0] included). */
  argv: string[];
  /** A script to write to `scriptPath` first (long bodies). */
  script?: { path: string; content: string };
  /** Whether the program may be found outside the command's PATH (the shells). */
  fallback: boolean;
}

/** The script a shell driver runs: a string as is, an argv joined by spaces. */
export function scriptOf(run: string | readonly string[]): string {
  return typeof run === 'string' ? run : run.join(' ');
}

/**
 * The command line of `run` under `driver`: argv untouched for `exec`; `bash`/`sh` with heph's
 * flags and `-c SCRIPT`, or the script's file when it is long.
 */
export function driverCommand(driver: Driver, run: string | readonly string[], scriptPath: string): DriverCommand {
  if (driver === 'exec') {
    const argv = typeof run === 'string' ? [run] : [...run];
    return { program: argv[0]!, argv, fallback: false };
  }
  const shell = driver === 'bash' ? 'bash' : 'sh';
  const flags = driver === 'bash' ? BASH_FLAGS : SH_FLAGS;
  const body = scriptOf(run);
  if (Buffer.byteLength(body) > INLINE_SCRIPT_MAX) {
    return { program: shell, argv: [shell, ...flags, scriptPath], script: { path: scriptPath, content: body }, fallback: true };
  }
  return { program: shell, argv: [shell, ...flags, '-c', body], fallback: true };
}

/** Whether a path is a file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds a program as execvp() would with this PATH: a name with a slash is taken relative to
 * `cwd`; a bare name is looked up in each directory (an empty entry meaning `cwd`).
 */
export function findProgram(
  program: string,
  path: string,
  cwd: string,
  isExecutable: (path: string) => boolean = isExecutableFile,
): string | undefined {
  if (program.length === 0) return undefined;
  if (program.includes('/')) {
    const candidate = resolve(cwd, program);
    return isExecutable(candidate) ? candidate : undefined;
  }
  for (const dir of path.split(':')) {
    const candidate = resolve(cwd, dir === '' ? '.' : dir, program);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The program of a driver command: on the command's PATH, then (for the shells) the usual places. */
export function resolveProgram(
  command: Pick<DriverCommand, 'program' | 'fallback'>,
  path: string,
  cwd: string,
  isExecutable: (path: string) => boolean = isExecutableFile,
): string | undefined {
  return (
    findProgram(command.program, path, cwd, isExecutable) ??
    (command.fallback ? findProgram(command.program, SHELL_FALLBACK_DIRS.join(':'), cwd, isExecutable) : undefined)
  );
}

// ---- Limits applied to the command itself ----

/** The limits a command gets as resource limits of its own processes. */
export interface CommandLimits {
  /** RLIMIT_DATA of each process, in bytes. */
  memoryBytes?: number | undefined;
  /** RLIMIT_CPU of each process (whole seconds, rounded up; SIGXCPU, then SIGKILL a second later). */
  cpuMs?: number | undefined;
  /** RLIMIT_NOFILE: this many descriptors on top of stdin, stdout and stderr. */
  maxOpenFiles?: number | undefined;
}

/** The util-linux helpers found on this machine. */
export interface WrapperTools {
  /** `setpriv` (for --pdeathsig / --no-new-privs). */
  setpriv?: string | undefined;
  /** `prlimit` (to set limits, then exec). */
  prlimit?: string | undefined;
  /** `/bin/sh`, the fallback to set limits with `ulimit` when prlimit is missing. */
  sh?: string | undefined;
}

/** Finds setpriv, prlimit and sh in the system directories (not on the command's PATH). */
export function findWrapperTools(isExecutable: (path: string) => boolean = isExecutableFile): WrapperTools {
  const dirs = '/usr/bin:/bin:/usr/sbin:/sbin';
  return {
    setpriv: findProgram('setpriv', dirs, '/', isExecutable),
    prlimit: findProgram('prlimit', dirs, '/', isExecutable),
    sh: findProgram('sh', dirs, '/', isExecutable),
  };
}

/** How to start a command: the file to exec, its arguments, and argv[0]. */
export interface LaunchLine {
  file: string;
  args: string[];
  argv0: string;
}

/**
 * Puts the wrappers in front of a command: `setpriv --pdeathsig KILL` (the command dies with its
 * parent, even by SIGKILL) and `prlimit --data --cpu --nofile` (limits set in the command's own
 * process before it execs, so no allocation escapes them). Each wrapper execs the next, so the
 * command keeps the pid spawn() returned. Without prlimit, `sh -c 'ulimit …; exec "$@"'` does
 * the same. `program` is the resolved executable; `argv` the command's own argv.
 */
export function wrapCommand(
  program: string,
  argv: readonly string[],
  limits: CommandLimits,
  tools: WrapperTools,
  options: { noNewPrivs?: boolean; keepArgv0?: boolean } = {},
): LaunchLine {
  const prefix: string[] = [];
  if (tools.setpriv) {
    prefix.push(tools.setpriv, '--pdeathsig', 'KILL');
    if (options.noNewPrivs) prefix.push('--no-new-privs');
    prefix.push('--');
  }
  const seconds = limits.cpuMs !== undefined ? Math.max(1, Math.ceil(limits.cpuMs / 1000)) : undefined;
  const files = limits.maxOpenFiles !== undefined ? limits.maxOpenFiles + 3 : undefined;
  const limited = limits.memoryBytes !== undefined || seconds !== undefined || files !== undefined;
  if (limited && tools.prlimit) {
    prefix.push(tools.prlimit);
    if (limits.memoryBytes !== undefined) prefix.push(`--data=${limits.memoryBytes}`);
    if (seconds !== undefined) prefix.push(`--cpu=${seconds}:${seconds + 1}`);
    if (files !== undefined) prefix.push(`--nofile=${files}`);
    prefix.push('--');
  } else if (limited && tools.sh) {
    const ulimits: string[] = [];
    if (limits.memoryBytes !== undefined) ulimits.push(`ulimit -d ${Math.max(1, Math.floor(limits.memoryBytes / 1024))}`);
    if (seconds !== undefined) ulimits.push(`ulimit -t ${seconds}`);
    if (files !== undefined) ulimits.push(`ulimit -n ${files}`);
    prefix.push(tools.sh, '-c', `${ulimits.join(' && ')} && exec "$0" "$@"`);
  }
  if (prefix.length === 0) return { file: program, args: argv.slice(1), argv0: options.keepArgv0 ? argv[0]! : program };
  // The last wrapper execvp()s this word, which also becomes the command's argv[0]. The user's
  // argv[0] of `exec` stays untouched: looked up on the same PATH from the same cwd, it reaches
  // the file `program` names. The shells go by their resolved path (they may have been found
  // outside the command's PATH).
  const head = options.keepArgv0 ? argv[0]! : program;
  return { file: prefix[0]!, args: [...prefix.slice(1), head, ...argv.slice(1)], argv0: prefix[0]! };
}

/** `'it'\''s'`: a word for sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
