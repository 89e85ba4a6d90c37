import type { Command } from 'commander';
import { addOutputOptions, addSandboxOptions, addWorkerEnvOptions } from '../options.js';

/** `plugin-run inspect`: what a library exports, and an Arroyo plugin's signature. */
export function registerInspect(program: Command): void {
  const command = program
    .command('inspect')
    .description('list the exported functions of a shared library (and an Arroyo plugin\'s metadata)')
    .argument('<library>', 'path of the shared library')
    .option('--sha256 <hex>', 'refuse to load the library unless its sha256 is this');
  addSandboxOptions(command);
  addWorkerEnvOptions(command);
  addOutputOptions(command);
  command.action(async (library: string, options: Record<string, unknown>) => {
    const { runInspect } = await import('./inspect-run.js');
    process.exitCode = await runInspect(library, options);
  });
}
