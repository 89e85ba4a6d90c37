// What `plugin-run shell` does once its command line has parsed (shell.ts loads it then).
import { spawn } from 'node:child_process';
import { EXIT_CODES } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { specFromOptions } from '../../exec/cli-spec.js';
import { resolveExecSpec } from '../../exec/exec-spec.js';
import { limitsFrom } from '../options.js';
import { printFailure } from '../render.js';
import { SHELL_LAUNCHER } from './shell.js';

export async function runShell(words: string[], options: Record<string, unknown>): Promise<number> {
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
