// What `plugin-run exec` does once its command line has parsed (exec.ts loads it then).
import { EXIT_CODES } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { specFromOptions } from '../../exec/cli-spec.js';
import { createHost } from '../../host.js';
import { cliSpawnOptions } from '../../worker/prestart.js';
import { limitsFrom, sandboxFrom } from '../options.js';
import { printFailure, stderrLog, toJson } from '../render.js';

export async function runExecCli(words: string[], options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  const onLog = json
    ? stderrLog(options.logLevel as never)
    : (entry: { stream: 'stdout' | 'stderr'; line: string }) => (entry.stream === 'stdout' ? process.stdout : process.stderr).write(`${entry.line}\n`);
  // Commands get their memory limit from the kernel (no memory watcher in the worker).
  let host: ReturnType<typeof createHost>;
  try {
    host = createHost({ workers: 1, onLog, ...cliSpawnOptions(false), sandbox: sandboxFrom(options) ?? false });
  } catch (error) {
    return printFailure(error, json);
  }
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
