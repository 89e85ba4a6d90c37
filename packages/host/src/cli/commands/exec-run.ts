// What `plugin-run exec` does once its command line has parsed (exec.ts loads it then).
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { EXIT_CODES } from '@airlock/protocol';
import { AirlockError, isAirlockError } from '../../errors/airlock-error.js';
import { specFromOptions } from '../../exec/cli-spec.js';
import { createHost } from '../../host.js';
import { attachDebugLog } from '../debug-log.js';
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
  if (options.logLevel === 'debug') attachDebugLog(host);
  let status: number;
  try {
    const driver = options.driver as string;
    const stdin = commandStdin(options.stdin as string | undefined);
    const spec = { ...specFromOptions(options, driver === 'exec' ? words : words.join(' ')), ...limitsFrom(options), ...(stdin !== undefined && { stdin }) };
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
    if (isAirlockError(failure)) status = commandStatus(failure) ?? status;
  }
  return status;
}

/**
 * The command's own exit status when it ran and ended by itself: its exit status, or 128+N
 * for a signal that was not airlock's doing (as a shell reports it). Undefined otherwise.
 */
function commandStatus(failure: AirlockError): number | undefined {
  if (failure.code !== 'PLUGIN_ERROR') return undefined;
  if (failure.exitCode !== undefined) return failure.exitCode;
  const number = failure.signal === undefined ? undefined : constants.signals[failure.signal as keyof typeof constants.signals];
  return number === undefined ? undefined : 128 + number;
}

/** What the command reads: `--stdin FILE` (`-`: this process's stdin), else this process's stdin unless it is a terminal. */
function commandStdin(option: string | undefined): string | undefined {
  if (option === undefined && process.stdin.isTTY) return undefined;
  const file = option === undefined || option === '-' ? 0 : option;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    // stdin closed, or not readable as a file (a socket on some platforms): nothing to pass.
    if (file === 0 && option === undefined) return undefined;
    throw new AirlockError('INVALID_ARGUMENT', `Cannot read --stdin ${JSON.stringify(option)}: ${(error as Error).message}`);
  }
}

/** commander's InvalidArgumentError from a value checked late (--dep mixing groups) is bad usage. */
function asAirlockError(error: unknown): unknown {
  if (isAirlockError(error)) return error;
  if (error instanceof Error && error.name === 'InvalidArgumentError') return new AirlockError('INVALID_ARGUMENT', error.message);
  return error;
}
