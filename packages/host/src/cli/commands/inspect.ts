import { type Command, Option } from 'commander';
import { addOutputOptions, addSandboxOptions, addWorkerEnvOptions, parseDuration } from '../options.js';

/** `plugin-run inspect`: what a library exports, and an Arroyo plugin's signature. */
export function registerInspect(program: Command): void {
  const command = program
    .command('inspect')
    .description('list the exported functions of a shared library, and the ABI it speaks, from its file (nothing is loaded unless --load)')
    .argument('<library>', 'path of the shared library, or a name the loader searches for (e.g. libm.so.6)')
    .option('--load', 'load it in a worker (running its constructors there), as a call does: reads an Arroyo plugin\'s metadata and the libvaccel it binds to')
    .option('--sha256 <hex>', 'refuse the library unless its sha256 is this')
    .addOption(new Option('--timeout <dur>', 'with --load: how long loading may take (e.g. 2s)').argParser(parseDuration));
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  addOutputOptions(command);
  command.action(async (library: string, options: Record<string, unknown>) => {
    const { runInspect } = await import('./inspect-run.js');
    process.exitCode = await runInspect(library, options);
  });
}
