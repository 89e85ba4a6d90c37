import { type Command, Option } from 'commander';
import { addLimitOptions, addOutputOptions, addPoolOptions, addSandboxOptions, addWorkerEnvOptions, collect } from '../options.js';

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
    .option('--read <type:value>', 'vAccel read argument (repeatable), e.g. int32:10, raw:@file, custom:100:HEX', collect)
    .option('--write <type>', 'vAccel write argument (repeatable), e.g. int32, uint8:16, custom:100:12', collect)
    .addOption(
      new Option('--vaccel-layout <layout>', "layout of struct vaccel_arg: auto reads it from the library's vAccel imports; main (old name v0.8) or v0.7")
        .choices(['auto', 'main', 'v0.7', 'v0.8'])
        .default('auto'),
    );
  addPoolOptions(command, false);
  addLimitOptions(command);
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  addOutputOptions(command);
  command.action(async (library: string, fn: string, words: string[], options: Record<string, unknown>) => {
    const { runCall } = await import('./call-run.js');
    const status = await runCall(library, fn, words, options);
    // The answer is out and the worker idle: nothing is left to wait for. process.exit runs the
    // 'exit' listeners, which kill the worker's process group and remove its temp dir at once;
    // host.close() would wait for the kernel to tear the worker down, as long as the call took.
    process.exit(status);
  });
}
