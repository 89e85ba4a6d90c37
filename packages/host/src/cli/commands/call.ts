import { ArgumentError, PrototypeError, buildSignature, isPrototype } from '@airlock/protocol';
import { type Command, Option } from 'commander';
import { AirlockError } from '../../errors/airlock-error.js';
import { createHost } from '../../host.js';
import { addLimitOptions, addOutputOptions, collect, limitsFrom } from '../options.js';
import { parseCArguments } from '../parse-c-arguments.js';
import { printFailure, printSuccess, stderrLog } from '../render.js';
import { cliArgumentParsers } from './abi-arguments.js';

/** `plugin-run call`: one call, the result alone on stdout. */
export function registerCall(program: Command): void {
  const command = program
    .command('call')
    .description('call one function of a native library in an isolated worker')
    .argument('<library>', 'path of the shared library (or a name for the loader, e.g. libm.so.6)')
    .argument('<fn-or-prototype>', "a C prototype such as 'double cos(double)', or a plugin/function name")
    .argument('[args...]', 'arguments, parsed by the declared types (put negative numbers after --)')
    .addOption(new Option('--abi <abi>', 'how to call the function').choices(['auto', 'c', 'arroyo', 'vaccel']).default('auto'))
    .option('--sha256 <hex>', 'refuse to load the library unless its sha256 is this')
    .option('--read <type:value>', 'vAccel read argument (repeatable), e.g. int32:10', collect)
    .option('--write <type>', 'vAccel write argument (repeatable), e.g. int32 or uint8:16', collect)
    .addOption(new Option('--vaccel-layout <layout>', 'layout of struct vaccel_arg').choices(['v0.8', 'v0.7']).default('v0.8'));
  addLimitOptions(command);
  addOutputOptions(command);
  command.action(async (library: string, fn: string, words: string[], options: Record<string, unknown>) => {
    process.exitCode = await runCall(library, fn, words, options);
  });
}

async function runCall(library: string, fn: string, words: string[], options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  const host = createHost({ workers: 1, limits: limitsFrom(options), onLog: stderrLog(options.logLevel as never) });
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
      else args = words;
    }
    const result = await host.call(library, fn, args, {
      abi,
      ...(sha256 !== undefined && { sha256 }),
      vaccelArgLayout: options.vaccelLayout as 'v0.8' | 'v0.7',
    });
    return printSuccess(result, json);
  } catch (error) {
    return printFailure(error, json);
  } finally {
    await host.close();
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
