import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { EXIT_CODES } from '@airlock/protocol';
import { WORKER_ENTRY } from '@airlock/worker';
import type { Command } from 'commander';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { addCommandOptions, specFromOptions } from '../../exec/cli-spec.js';
import { resolveExecSpec } from '../../exec/exec-spec.js';
import { addLimitOptions, limitsFrom } from '../options.js';
import { printFailure } from '../render.js';

/** The launcher that builds the environment and runs the shell on a PTY (from @airlock/worker). */
export const SHELL_LAUNCHER = join(dirname(WORKER_ENTRY), 'exec', 'shell-main.js');

/**
 * `plugin-run shell [options] [-- command…]`: an interactive shell on a real PTY, in the same
 * environment `exec` would give the command. A command given after `--` becomes the shell's
 * `run` (with the driver's flags), `xrun` (traced) and `show` helpers, as in heph's shell
 * mode. Exits with the shell's own status.
 *
 * The session runs in this process's child (the launcher), not in a worker: it needs this
 * terminal. Limits given on the command line apply to the shell and all it starts: --memory,
 * --cpu and --max-open-files as resource limits (prlimit), --timeout as the session's length.
 * No default timeout applies to an interactive session. Besides what `exec` would give, the
 * shell gets the caller's TERM.
 */
export function registerShell(program: Command): void {
  const command = program
    .command('shell')
    .description('open an interactive shell on a PTY in the environment exec would give a command')
    .argument('[command...]', 'after --: the command that run, xrun and show stand for');
  addCommandOptions(command, ['bash', 'sh'], 'bash');
  addLimitOptions(command);
  command.action(async (words: string[], options: Record<string, unknown>) => {
    process.exitCode = await runShell(words, options);
  });
}

async function runShell(words: string[], options: Record<string, unknown>): Promise<number> {
  let request: { params: unknown; timeoutMs?: number };
  try {
    const limits = limitsFrom(options);
    const command = words.join(' ');
    const { params } = resolveExecSpec({ ...specFromOptions(options, command.length > 0 ? command : ':'), ...limits }, { cwd: process.cwd(), env: process.env });
    const { memoryBytes, cpuMs, maxOpenFiles } = limits;
    // The terminal's type belongs to the terminal the shell talks to, not to the build: it is
    // the one variable of the caller a shell gets unasked (readline, less and vi need it).
    const env = process.env.TERM !== undefined && params.env?.TERM === undefined ? { ...params.env, TERM: process.env.TERM } : params.env;
    request = {
      params: { ...params, env, run: command, limits: { memoryBytes, cpuMs, maxOpenFiles } },
      ...(limits.timeoutMs !== undefined && { timeoutMs: limits.timeoutMs }),
    };
  } catch (error) {
    const failure = isAirlockError(error) || !(error instanceof Error) ? error : new AirlockError('INVALID_ARGUMENT', error.message);
    return printFailure(failure, false);
  }
  const env: Record<string, string> = { AIRLOCK_SHELL_PARAMS: JSON.stringify(request) };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  // The terminal's signals are the shell's business; this process only waits for it.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--no-warnings', SHELL_LAUNCHER], { env, stdio: 'inherit' });
      const forward = (name: NodeJS.Signals) => () => child.kill(name);
      const onTerm = forward('SIGTERM');
      const onHup = forward('SIGHUP');
      process.on('SIGTERM', onTerm);
      process.on('SIGHUP', onHup);
      child.once('error', (error) => {
        process.stderr.write(`plugin-run shell: UNAVAILABLE: cannot start the shell launcher: ${error.message}\n`);
        resolve(EXIT_CODES.UNAVAILABLE);
      });
      child.once('exit', (code, signal) => {
        process.off('SIGTERM', onTerm);
        process.off('SIGHUP', onHup);
        resolve(code ?? (signal === 'SIGKILL' ? 137 : 128 + 15));
      });
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  }
}
