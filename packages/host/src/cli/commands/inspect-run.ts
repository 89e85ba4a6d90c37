// What `plugin-run inspect` does once its command line has parsed (inspect.ts loads it then).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ElfExports, decideVaccelLayout, readElfExports, vaccelImports } from '@airlock/protocol';
import { createHost } from '../../host.js';
import type { LibraryInfo } from '../../host.js';
import { attachDebugLog } from '../debug-log.js';
import { cliSpawnOptions } from '../../worker/prestart.js';
import { AirlockError } from '../../errors/airlock-error.js';
import { findLibrary } from '../../inspect/library-search.js';
import { printFailure, stderrLog, toJson } from '../render.js';
import { sandboxFrom, workerEnvFrom } from '../options.js';

/**
 * Lists a library's exports from its ELF file. By default nothing is loaded (no constructor
 * runs, no worker starts): the file is found as the loader would find it, and its ABI is read
 * from its symbols. `--load` loads it in a worker as a call would, which also reads an Arroyo
 * plugin's metadata and the libvaccel a vAccel library binds to.
 */
export async function runInspect(library: string, options: Record<string, unknown>): Promise<number> {
  const json = Boolean(options.json);
  try {
    const { info, elf } = options.load ? await loaded(library, options) : await unloaded(library, options);
    const report = {
      library,
      path: info.path,
      abi: info.abi,
      ...(info.arroyo && { arroyo: info.arroyo }),
      ...(info.vaccel && { vaccel: info.vaccel }),
      loaded: Boolean(options.load),
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
      } else if (info.abi === 'arroyo') lines.push('plugin: (its metadata is read by loading it: --load)');
      if (info.vaccel) lines.push(`vaccel layout: ${info.vaccel.layout} (${info.vaccel.reason})`);
      if (elf.soname) lines.push(`soname: ${elf.soname}`);
      if (elf.needed.length > 0) lines.push(`needs: ${elf.needed.join(', ')}`);
      lines.push(`functions (${elf.functions.length}):`, ...elf.functions.map((name) => `  ${name}`));
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  } catch (error) {
    return printFailure(error, json);
  }
}

/** What a library's file and the worker (or the file alone) say about it. */
interface Inspected {
  info: LibraryInfo;
  elf: ElfExports;
}

/** The ELF table of the file at `path`; a file that is not one is LOAD_ERROR. */
async function readElf(path: string, library: string): Promise<ElfExports> {
  try {
    return await readElfExports(path);
  } catch (error) {
    throw new AirlockError('LOAD_ERROR', (error as Error).message, { details: { library, path } });
  }
}

/** What the file says, read without loading it. */
async function unloaded(library: string, options: Record<string, unknown>): Promise<Inspected> {
  const { env, passEnv } = workerEnvFrom(options);
  const ldLibraryPath = env.LD_LIBRARY_PATH ?? (passEnv.includes('LD_LIBRARY_PATH') ? process.env.LD_LIBRARY_PATH : undefined);
  const path = findLibrary(library, ldLibraryPath, process.cwd());
  if (path === undefined) {
    const where = library.includes('/') ? 'No such library file' : "No library of that name where the loader looks (LD_LIBRARY_PATH, the loader's cache, the system's directories)";
    throw new AirlockError('LOAD_ERROR', `${where}: ${JSON.stringify(library)}`, { details: { library } });
  }
  const sha256 = options.sha256 as string | undefined;
  if (sha256 !== undefined) {
    const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
    if (actual !== sha256.toLowerCase()) {
      throw new AirlockError('LOAD_ERROR', `Checksum mismatch for ${JSON.stringify(path)}: expected sha256 ${sha256.toLowerCase()}, file has ${actual}`, { details: { library, expected: sha256.toLowerCase(), actual } });
    }
  }
  const elf = await readElf(path, library);
  if (elf.functions.includes('plugin_metadata') || elf.objects.includes('plugin_metadata')) return { info: { path, abi: 'arroyo' }, elf };
  if (vaccelImports(elf.imports).length === 0) return { info: { path, abi: 'c' }, elf };
  // Unloaded, the libvaccel it binds to is unknown: say so where that would change the layout.
  const { layout, reason, helpers } = decideVaccelLayout(elf.imports, false);
  const caveat = decideVaccelLayout(elf.imports, true).layout === layout ? '' : '; loaded (--load), the libvaccel it binds to may say main';
  return { info: { path, abi: 'vaccel', vaccel: { layout, reason: `${reason}${caveat}`, helpers: [...helpers] } }, elf };
}

/** What a worker that loads it says (constructors run, in the worker). */
async function loaded(library: string, options: Record<string, unknown>): Promise<Inspected> {
  const host = createHost({
    workers: 1,
    onLog: stderrLog(options.logLevel as never),
    ...cliSpawnOptions(false),
    ...workerEnvFrom(options),
    sandbox: sandboxFrom(options) ?? false,
    ...(options.timeout !== undefined && { limits: { timeoutMs: options.timeout as number } }),
  });
  if (options.logLevel === 'debug') attachDebugLog(host);
  try {
    const sha256 = options.sha256 as string | undefined;
    const info = await host.inspect(library, sha256 ? { sha256 } : {});
    return { info, elf: await readElf(info.path, library) };
  } finally {
    await host.close();
  }
}
