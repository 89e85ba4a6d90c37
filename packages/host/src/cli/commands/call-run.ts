// What `plugin-run call` does once its command line has parsed (call.ts loads it then).
import { ArgumentError, PrototypeError, buildSignature, isPrototype } from '@airlock/protocol';
import { AirlockError } from '../../errors/airlock-error.js';
import { createHost } from '../../host.js';
import { attachDebugLog } from '../debug-log.js';
import { cliSpawnOptions } from '../../worker/prestart.js';
import { limitsFrom, poolFrom, sandboxFrom, workerEnvFrom } from '../options.js';
import { parseCArguments } from '../parse-c-arguments.js';
import { printFailure, printSuccess, stderrLog } from '../render.js';
import { cliArgumentParsers } from './abi-arguments.js';

/**
 * Runs the call and prints its outcome; resolves to plugin-run's exit status. The host stays
 * open: plugin-run exits at once with the status (see call.ts), and its 'exit' listeners end the
 * worker, idle by then, and remove its temp dir. At `--log-level debug`, whose log ends with the
 * worker's exit, the host is closed first.
 */
export async function runCall(library: string, fn: string, words: string[], options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  const limits = limitsFrom(options);
  let host: ReturnType<typeof createHost>;
  try {
    host = createHost({ workers: 1, ...poolFrom(options), limits, onLog: stderrLog(options.logLevel as never), ...cliSpawnOptions(limits.memoryBytes !== undefined), ...workerEnvFrom(options), sandbox: sandboxFrom(options) ?? false });
  } catch (error) {
    return printFailure(error, json);
  }
  if (options.logLevel === 'debug') attachDebugLog(host);
  try {
    let abi = options.abi as 'auto' | 'c' | 'arroyo' | 'vaccel';
    const sha256 = options.sha256 as string | undefined;
    let args: unknown;
    if (abi === 'vaccel' || (abi === 'auto' && (options.read !== undefined || options.write !== undefined))) {
      abi = 'vaccel';
      args = cliArgumentParsers.vaccel(options.read as string[] | undefined, options.write as string[] | undefined, words);
    } else if (abi === 'c' || (abi === 'auto' && isPrototype(fn))) {
      args = parseWithSignature(fn, words);
    } else {
      const info = await host.inspect(library, sha256 ? { sha256 } : {});
      if (info.abi === 'arroyo' && info.arroyo) args = cliArgumentParsers.arroyo(info.arroyo, words);
      else if (info.abi === 'vaccel') {
        abi = 'vaccel';
        args = cliArgumentParsers.vaccel(undefined, undefined, words);
      } else args = words;
    }
    const result = await host.call(library, fn, args, {
      abi,
      ...(sha256 !== undefined && { sha256 }),
      vaccelArgLayout: options.vaccelLayout as 'auto' | 'main' | 'v0.7' | 'v0.8',
    });
    return printSuccess(result, json);
  } catch (error) {
    return printFailure(error, json);
  } finally {
    if (options.logLevel === 'debug') await host.close();
  }
}

function parseWithSignature(fn: string, words: string[]): unknown[] {
  try {
    return parseCArguments(buildSignature(fn), words);
  } catch (error) {
    if (error instanceof PrototypeError) throw new AirlockError('INVALID_ARGUMENT', error.message);
    if (error instanceof ArgumentError) throw new AirlockError('INVALID_ARGUMENT', error.message, { argument: error.position });
    throw error;
  }
}
