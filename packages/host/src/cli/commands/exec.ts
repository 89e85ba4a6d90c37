import type { Command } from 'commander';
import { addCommandOptions } from '../../exec/cli-spec.js';
import { addLimitOptions, addOutputOptions, addSandboxOptions } from '../options.js';

/**
 * `plugin-run exec [options] -- <command…>`: one command through a driver in a worker. Its
 * output streams as it comes (stdout lines to stdout, stderr lines to stderr; with --json both
 * go to stderr as log lines and the result is one JSON object). It reads this process's stdin
 * when that is not a terminal (or `--stdin FILE`). It exits as timeout(1) does: with the
 * command's own status when the command ran and exited (128+N when a signal of its own killed
 * it), and with the table's codes for what airlock decided (a timeout, a limit, a crash).
 */
export function registerExec(program: Command): void {
  const command = program
    .command('exec')
    .description('run a command through a driver (exec: argv, bash, sh) in a worker, from an empty environment')
    .argument('<command...>', 'the command, after --: an argv for --driver exec, a command line for bash and sh (words joined by spaces)');
  addCommandOptions(command, ['exec', 'bash', 'sh'], 'bash');
  command.option('--stdin <file>', "the command's stdin: a file (- for this process's stdin, which is the default when it is not a terminal; /dev/null for none)");
  addLimitOptions(command);
  addSandboxOptions(command);
  addOutputOptions(command);
  command.action(async (words: string[], options: Record<string, unknown>) => {
    const { runExecCli } = await import('./exec-run.js');
    process.exitCode = await runExecCli(words, options);
  });
}
