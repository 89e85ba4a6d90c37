// What `plugin-run inspect` does once its command line has parsed (inspect.ts loads it then).
import { createHost } from '../../host.js';
import { attachDebugLog } from '../debug-log.js';
import { cliSpawnOptions } from '../../worker/prestart.js';
import { readElfExports } from '@airlock/protocol';
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
  if (options.logLevel === 'debug') attachDebugLog(host);
  try {
    const sha256 = options.sha256 as string | undefined;
    // The library is named as for call: a path, or a bare name the loader searches for; the
    // worker says which file it loaded, and that file's table is what is listed.
    const info = await host.inspect(library, sha256 ? { sha256 } : {});
    let elf;
    try {
      elf = await readElfExports(info.path);
    } catch (error) {
      throw new AirlockError('LOAD_ERROR', (error as Error).message);
    }
    const report = {
      library,
      path: info.path,
      abi: info.abi,
      ...(info.arroyo && { plugin: info.arroyo }),
      ...(info.vaccel && { vaccel: info.vaccel }),
      machine: elf.machine,
      soname: elf.soname,
      needed: elf.needed,
      functions: elf.functions,
    };
    if (json) process.stdout.write(`${toJson({ ok: true, result: report })}\n`);
    else {
      const lines = [`library: ${library}`];
      if (info.path !== library) lines.push(`path: ${info.path}`);
      lines.push(`abi: ${info.abi}`);
      if (info.arroyo) {
        lines.push(`plugin: ${info.arroyo.name}`, `arguments: ${info.arroyo.argTypes.join(', ') || '(none)'}`, `returns: ${info.arroyo.returnType}`);
      }
      if (info.vaccel) lines.push(`vaccel layout: ${info.vaccel.layout} (${info.vaccel.reason})`);
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
