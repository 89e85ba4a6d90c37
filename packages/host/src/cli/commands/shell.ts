import { dirname, join } from 'node:path';
import { WORKER_ENTRY } from '@airlock/worker';
import type { Command } from 'commander';
import { addCommandOptions } from '../../exec/cli-spec.js';
import { addLimitOptions, addSandboxOptions } from '../options.js';

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
  addSandboxOptions(command);
  command.action(async (words: string[], options: Record<string, unknown>) => {
    const { runShell } = await import('./shell-run.js');
    process.exitCode = await runShell(words, options);
  });
}
