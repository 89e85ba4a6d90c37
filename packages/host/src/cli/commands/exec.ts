import type { Command } from 'commander';
import { addCommandOptions } from '../../exec/cli-spec.js';
import { addLimitOptions, addOutputOptions, addSandboxOptions } from '../options.js';

/**
 * `plugin-run exec [options] -- <command…>`: one command through a driver in a worker. Its
 * output streams as it comes (stdout lines to stdout, stderr lines to stderr; with --json both
 * go to stderr as log lines and the result is one JSON object). Exits with CONTRACT.md's status:
 * a non-zero exit of the command is PLUGIN_ERROR (1), its own status printed on stderr.
 */
export function registerExec(program: Command): void {
  const command = program
    .command('exec')
    .description('run a command through a driver (exec: argv, bash, sh) in a worker, from an empty environment')
    .argument('<command...>', 'the command, after --: an argv for --driver exec, a command line for bash and sh (words joined by spaces)');
  addCommandOptions(command, ['exec', 'bash', 'sh'], 'bash');
  addLimitOptions(command);
  addSandboxOptions(command);
  addOutputOptions(command);
  command.action(async (words: string[], options: Record<string, unknown>) => {
    const { runExecCli } = await import('./exec-run.js');
    process.exitCode = await runExecCli(words, options);
  });
}
