// What `plugin-run shell` does once its command line has parsed (shell.ts loads it then).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CODES, type ExecParams } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { specFromOptions } from '../../exec/cli-spec.js';
import { resolveExecSpec } from '../../exec/exec-spec.js';
import { parseOptions } from '../../options/host-options.js';
import { bubblewrapArgs, findBubblewrap } from '../../sandbox/bubblewrap.js';
import { execPaths } from '../../sandbox/exec-paths.js';
import { SandboxOptionsSchema, sandboxPolicy } from '../../sandbox/sandbox-options.js';
import { SandboxView } from '../../sandbox/sandbox-view.js';
import { limitsFrom, sandboxFrom } from '../options.js';
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
  let launch: { command: string; args: string[]; sandboxDir?: string };
  try {
    launch = shellLaunch(request.params as ExecParams, options, env);
  } catch (error) {
    const failure = isAirlockError(error) ? error : new AirlockError('UNAVAILABLE', (error as Error).message);
    return printFailure(failure, false);
  }
  // The terminal's signals are the shell's business; this process only waits for it.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(launch.command, launch.args, { env, stdio: 'inherit' });
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
    if (launch.sandboxDir !== undefined) rmSync(launch.sandboxDir, { recursive: true, force: true });
  }
}

/**
 * How the launcher starts: Node running it, or with --sandbox bubblewrap around that, shown
 * what `exec` would show the command (its cwd, tools, PATH and inputs read-only, its outputs
 * writable) and a temp dir of its own (its TMPDIR, set in `env`), removed after the session.
 */
function shellLaunch(params: ExecParams, options: Record<string, unknown>, env: Record<string, string>): { command: string; args: string[]; sandboxDir?: string } {
  const launcher = ['--no-warnings', SHELL_LAUNCHER];
  const sandbox = sandboxFrom(options);
  if (sandbox === undefined) return { command: process.execPath, args: launcher };
  const policy = sandboxPolicy(parseOptions(SandboxOptionsSchema, sandbox, 'sandbox options'), process.cwd())!;
  const bwrap = findBubblewrap();
  const sandboxDir = mkdtempSync(join(tmpdir(), 'airlock-shell-sandbox-'));
  env.TMPDIR = sandboxDir;
  const paths = execPaths(params);
  const mounts = new SandboxView(policy).spawn({ readable: paths.readable, writable: [...paths.writable, sandboxDir] });
  const cwd = params.cwd ?? process.cwd();
  return { command: bwrap, args: [...bubblewrapArgs(mounts, cwd, true), '--', process.execPath, ...launcher], sandboxDir };
}
