// What `plugin-run inspect` does once its command line has parsed (inspect.ts loads it then).
import { existsSync } from 'node:fs';
import { createHost } from '../../host.js';
import { cliSpawnOptions } from '../../worker/prestart.js';
import { readElfExports } from '../../inspect/elf-exports.js';
import { AirlockError } from '../../errors/airlock-error.js';
import { printFailure, stderrLog, toJson } from '../render.js';
import { sandboxFrom, workerEnvFrom } from '../options.js';

export async function runInspect(library: string, options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  let host: ReturnType<typeof createHost>;
  try {
    host = createHost({ workers: 1, onLog: stderrLog(options.logLevel as never), ...cliSpawnOptions(false), ...workerEnvFrom(options), sandbox: sandboxFrom(options) ?? false });
  } catch (error) {
    return printFailure(error, json);
  }
  try {
    if (!existsSync(library)) throw new AirlockError('LOAD_ERROR', `No such library file ${JSON.stringify(library)}`);
    let elf;
    try {
      elf = await readElfExports(library);
    } catch (error) {
      throw new AirlockError('LOAD_ERROR', (error as Error).message);
    }
    const sha256 = options.sha256 as string | undefined;
    const info = await host.inspect(library.includes('/') ? library : `./${library}`, sha256 ? { sha256 } : {});
    const report = { library, abi: info.abi, ...(info.arroyo && { plugin: info.arroyo }), machine: elf.machine, soname: elf.soname, needed: elf.needed, functions: elf.functions };
    if (json) process.stdout.write(`${toJson({ ok: true, result: report })}\n`);
    else {
      const lines = [`library: ${library}`, `abi: ${info.abi}`];
      if (info.arroyo) {
        lines.push(`plugin: ${info.arroyo.name}`, `arguments: ${info.arroyo.argTypes.join(', ') || '(none)'}`, `returns: ${info.arroyo.returnType}`);
      }
      if (elf.soname) lines.push(`soname: ${elf.soname}`);
      if (elf.needed.length > 0) lines.push(`needs: ${elf.needed.join(', ')}`);
      lines.push(`functions (${elf.functions.length}):`, ...elf.functions.map((name) => `  ${name}`));
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  } catch (error) {
    return printFailure(error, json);
  } finally {
    await host.close();
  }
}
