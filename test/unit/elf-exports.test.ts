// Tests of the ELF export reader behind `plugin-run inspect`, on real files: the system's libm,
// the built fixtures (run `node test/fixtures/build.mjs` first; `npm test` does), and broken
// copies of them made in a temporary directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfError, readElfExports, readElfExportsSync } from '../../packages/protocol/src/elf/elf-exports.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const build = join(root, 'test/fixtures/build');
const libtypes = join(build, 'libtypes.so');

/** Every function test/fixtures/c/types.c exports, sorted as the reader sorts. */
const TYPES_FUNCTIONS = [
  'add', 'add_i16', 'add_i32', 'add_i64', 'add_i8', 'add_u16', 'add_u32', 'add_u64', 'add_u8',
  'counter_free', 'counter_new', 'counter_next', 'div_f64', 'do_nothing', 'fill_bytes', 'ident_ul',
  'iota_i32', 'is_null', 'mul_f32', 'mul_f64', 'negate_ll', 'not_bool', 'str_invalid_utf8', 'str_len',
  'str_null', 'str_static', 'str_upper', 'sum_bytes', 'sum_doubles',
].sort();

const EXPECTED_MACHINE: Record<string, string> = { x64: 'x86-64', arm64: 'aarch64', ia32: 'x86', arm: 'arm', riscv64: 'riscv' };

/** Finds the system's libm.so.6: the Debian/Ubuntu path first, then the loader cache. */
function findLibm(): string | undefined {
  const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch as 'x64' | 'arm64'];
  for (const candidate of [multiarch && `/lib/${multiarch}/libm.so.6`, multiarch && `/usr/lib/${multiarch}/libm.so.6`, '/lib64/libm.so.6', '/usr/lib64/libm.so.6']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
    const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : '';
    const line = cache.split('\n').find((l) => l.trim().startsWith('libm.so.6 ') && l.includes(arch));
    return line?.split('=>')[1]?.trim();
  } catch {
    return undefined;
  }
}
const libm = findLibm();

let scratch: string;
beforeAll(() => {
  if (!existsSync(libtypes)) throw new Error(`${libtypes} is missing: build the fixtures first (node test/fixtures/build.mjs)`);
  scratch = mkdtempSync(join(tmpdir(), 'airlock-elf-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Writes `bytes` to a new file in the scratch directory and returns its path. */
function scratchFile(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

/** A copy of `source` with its section header table forgotten (e_shoff, e_shnum, e_shstrndx = 0), as sstrip leaves it. */
function withoutSectionHeaders(source: string, name: string): string {
  const bytes = Buffer.from(readFileSync(source));
  expect(bytes[4]).toBe(2); // ELFCLASS64: the offsets below are ELF64's
  bytes.writeBigUInt64LE(0n, 40);
  bytes.writeUInt16LE(0, 60);
  bytes.writeUInt16LE(0, 62);
  return scratchFile(name, bytes);
}

async function elfError(path: string): Promise<ElfError> {
  const error = await readElfExports(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ElfError);
  const elf = error as ElfError;
  expect(elf.name).toBe('ElfError');
  expect(elf.path).toBe(path);
  expect(elf.message).toContain(path);
  return elf;
}

describe('readElfExports on real libraries', () => {
  it.skipIf(!libm)(`reads the system libm (${libm ?? 'libm.so.6 not found on this system'})`, async () => {
    const result = await readElfExports(libm!);
    expect(result.class).toBe(process.arch === 'x64' || process.arch === 'arm64' ? 64 : result.class);
    if (EXPECTED_MACHINE[process.arch]) expect(result.machine).toBe(EXPECTED_MACHINE[process.arch]);
    expect(result.soname).toBe('libm.so.6');
    expect(result.needed).toContain('libc.so.6');
    // cos is an IFUNC on x86-64 glibc: IFUNCs count as functions.
    expect(result.functions).toEqual(expect.arrayContaining(['cos', 'sin', 'sqrt', 'pow', 'exp']));
    expect(result.objects).toContain('signgam');
    expect(result.functions).not.toContain('signgam');
    // Sorted and unique, though glibc's .dynsym holds several versions of some names (exp, pow…).
    expect(result.functions).toEqual([...new Set(result.functions)].sort());
    // Imports from libc are not exports of libm.
    expect(result.functions).not.toContain('__errno_location');
  });

  it('lists exactly the functions of the types fixture', async () => {
    const result = await readElfExports(libtypes);
    expect(result.class).toBe(64);
    if (EXPECTED_MACHINE[process.arch]) expect(result.machine).toBe(EXPECTED_MACHINE[process.arch]);
    expect(result.soname).toBeUndefined();
    expect('soname' in result).toBe(false);
    expect(result.needed).toEqual(['libc.so.6']);
    expect(result.functions).toEqual(TYPES_FUNCTIONS);
    expect(result.functions).toContain('add');
    expect(result.objects).toEqual([]);
  });

  it('leaves out static functions and imports (hostile fixture)', async () => {
    const result = await readElfExports(join(build, 'libhostile.so'));
    expect(result.functions).toEqual(expect.arrayContaining(['crash_segv', 'crash_bus', 'fork_bomb', 'malloc_bomb', 'spawn_threads', 'sleep_ms']));
    expect(result.functions).not.toContain('recurse'); // static in hostile.c
    expect(result.functions).not.toContain('write_all'); // static in hostile.c
    expect(result.functions).not.toContain('malloc'); // imported from libc
    expect(result.functions).not.toContain('pthread_create');
    // Imports are listed apart: what the library expects another to define.
    expect(result.imports).toEqual(expect.arrayContaining(['malloc', 'pthread_create']));
    expect(result.imports).not.toContain('crash_segv');
  });

  it('lists weak, unresolved references among the imports (the vAccel fixtures mark their version so)', () => {
    expect(readElfExportsSync(join(build, 'libvaccel_ops.so')).imports).toContain('vaccel_arg_array_wrap');
    expect(readElfExportsSync(join(build, 'libvaccel_ops_v07.so')).imports).toContain('vaccel_extract_serial_arg');
    expect(() => readElfExportsSync(join(build, 'no-such.so'))).toThrow(/ENOENT/);
  });

  it('lists a constructor-only fixture without running its constructor', async () => {
    // Loading libctor_crash.so would segfault this process; reading it must not.
    expect((await readElfExports(join(build, 'libctor_crash.so'))).functions).toEqual(['ctor_crash_dummy']);
    expect((await readElfExports(join(build, 'libctor_noisy.so'))).functions).toEqual(['noisy_value']);
  });

  it('finds the symbols through the dynamic segment when there are no section headers (DT_GNU_HASH)', async () => {
    const original = await readElfExports(libtypes);
    expect(await readElfExports(withoutSectionHeaders(libtypes, 'libtypes-sstripped.so'))).toEqual(original);
  });

  it.skipIf(!libm)('finds the symbols through the dynamic segment when there are no section headers (libm)', async () => {
    const original = await readElfExports(libm!);
    expect(await readElfExports(withoutSectionHeaders(libm!, 'libm-sstripped.so'))).toEqual(original);
  });
});

// ELFCLASS32 is optional: checked when this machine's gcc can make a 32-bit x86 object.
const elf32 = (() => {
  try {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-elf32-'));
    const source = join(dir, 'lib32.c');
    writeFileSync(source, 'int f32_add(int a, int b) { return a + b; }\nint f32_data = 3;\n');
    const output = join(dir, 'lib32.so');
    execFileSync('cc', ['-m32', '-shared', '-fPIC', '-nostdlib', '-Wl,-soname,lib32.so.1', '-o', output, source], { stdio: 'ignore' });
    return { dir, output };
  } catch {
    return undefined;
  }
})();
afterAll(() => {
  if (elf32) rmSync(elf32.dir, { recursive: true, force: true });
});

describe('readElfExports on ELFCLASS32', () => {
  it.skipIf(!elf32)(`reads a 32-bit x86 library${elf32 ? '' : ' (skipped: cc -m32 -nostdlib cannot build one here)'}`, async () => {
    const result = await readElfExports(elf32!.output);
    expect(result).toEqual({ class: 32, machine: 'x86', soname: 'lib32.so.1', needed: [], functions: ['f32_add'], objects: ['f32_data'], imports: [] });
  });
});

describe('readElfExports on files that are not (whole) ELF files', () => {
  it('refuses a file that is not ELF, naming the path and the magic it found', async () => {
    const path = scratchFile('not-elf.sh', '#!/bin/sh\necho not a library\n');
    const error = await elfError(path);
    expect(error.message).toContain('not an ELF file');
    expect(error.message).toContain('magic 23 21 2f 62');
    expect(error.message).toContain('7f 45 4c 46');
    rmSync(path);
  });

  it('refuses an empty file', async () => {
    const error = await elfError(scratchFile('empty.so', ''));
    expect(error.message).toContain('not an ELF file');
  });

  it('refuses an ELF file truncated anywhere, saying it is truncated', async () => {
    const whole = readFileSync(libtypes);
    for (const length of [3, 10, 16, 40, 64, 1000, whole.length >> 1, whole.length - 1]) {
      const path = scratchFile(`truncated-${length}.so`, whole.subarray(0, length));
      const error = await elfError(path);
      expect(error.message, `cut at ${length} bytes`).toMatch(/truncated/);
    }
  });

  it('refuses headers that point outside the file instead of allocating or crashing', async () => {
    const whole = readFileSync(libtypes);
    const farOffset = Buffer.from(whole);
    farOffset.writeBigUInt64LE(0xffff_ffff_ffffn, 40); // e_shoff
    expect((await elfError(scratchFile('far-shoff.so', farOffset))).message).toMatch(/truncated/);

    const hugeOffset = Buffer.from(whole);
    hugeOffset.writeBigUInt64LE(0xffff_ffff_ffff_ff00n, 40); // e_shoff past 2^53
    expect((await elfError(scratchFile('huge-shoff.so', hugeOffset))).message).toMatch(/out of range/);

    const manySections = Buffer.from(whole);
    manySections.writeUInt16LE(0xfff0, 60); // e_shnum
    expect((await elfError(scratchFile('many-sections.so', manySections))).message).toMatch(/truncated/);

    const badClass = Buffer.from(whole);
    badClass[4] = 7;
    expect((await elfError(scratchFile('bad-class.so', badClass))).message).toMatch(/ELF class 7/);
  });

  it('lets I/O errors through as Node reports them', async () => {
    await expect(readElfExports(join(scratch, 'does-not-exist.so'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
