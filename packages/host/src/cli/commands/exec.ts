import { EXIT_CODES } from '@airlock/protocol';
import type { Command } from 'commander';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { addCommandOptions, specFromOptions } from '../../exec/cli-spec.js';
import { createHost } from '../../host.js';
import { addLimitOptions, addOutputOptions, limitsFrom } from '../options.js';
import { printFailure, stderrLog, toJson } from '../render.js';

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
  addOutputOptions(command);
  command.action(async (words: string[], options: Record<string, unknown>) => {
    process.exitCode = await runExecCli(words, options);
  });
}

async function runExecCli(words: string[], options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  const onLog = json
    ? stderrLog(options.logLevel as never)
    : (entry: { stream: 'stdout' | 'stderr'; line: string }) => (entry.stream === 'stdout' ? process.stdout : process.stderr).write(`${entry.line}\n`);
  const host = createHost({ workers: 1, onLog });
  let status: number;
  try {
    const driver = options.driver as string;
    const spec = { ...specFromOptions(options, driver === 'exec' ? words : words.join(' ')), ...limitsFrom(options) };
    const result = await host.exec(spec);
    // Closing first lets the last lines of output arrive before the summary.
    await host.close();
    if (json) process.stdout.write(`${toJson({ ok: true, result })}\n`);
    for (const warning of result.warnings ?? []) process.stderr.write(`plugin-run: warning: ${warning}\n`);
    status = EXIT_CODES.OK;
  } catch (error) {
    await host.close();
    const failure = asAirlockError(error);
    // Without --json the lines were already shown as they came.
    if (!json && isAirlockError(failure)) failure.output = undefined;
    status = printFailure(failure, json);
  }
  return status;
}

/** commander's InvalidArgumentError from a value checked late (--dep mixing groups) is bad usage. */
function asAirlockError(error: unknown): unknown {
  if (isAirlockError(error)) return error;
  if (error instanceof Error && error.name === 'InvalidArgumentError') return new AirlockError('INVALID_ARGUMENT', error.message);
  return error;
}
