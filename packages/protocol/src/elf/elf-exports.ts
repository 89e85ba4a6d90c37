/**
 * Reads what an ELF shared library exports and imports, without loading it: `plugin-run inspect`
 * must never run a library's constructors just to list its symbols, and the worker reads a vAccel
 * library's imports to choose its argument layout. Pure TypeScript, no dependencies.
 *
 * Reads only the parts it needs (headers, the dynamic symbol table and its strings, the dynamic
 * section) through one file handle, checking every offset against the file's size first, so a
 * hostile or truncated file costs neither memory nor a crash: it is an {@link ElfError}.
 *
 * Sources, in order of preference:
 * - symbols: the SHT_DYNSYM section and its linked string table; when the file has no section
 *   headers (stripped with sstrip and the like; the loader needs none), the dynamic segment's
 *   DT_SYMTAB / DT_STRTAB, counted through DT_HASH or DT_GNU_HASH.
 * - DT_NEEDED / DT_SONAME: the PT_DYNAMIC segment (what the loader reads), else SHT_DYNAMIC.
 *
 * Both classes (ELF32, ELF64) and both byte orders are read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What a shared library exports, as listed by {@link readElfExports}. */
export interface ElfExports {
  /** ELFCLASS64 or ELFCLASS32. */
  class: 64 | 32;
  /** The e_machine, by name: `'x86-64'`, `'aarch64'`, `'x86'`, `'arm'`, `'riscv'`, … (`'unknown(N)'` otherwise). */
  machine: string;
  /** DT_SONAME, when the library has one. */
  soname?: string;
  /** DT_NEEDED entries, in file order. */
  needed: string[];
  /** Defined, visible GLOBAL/WEAK functions (FUNC and GNU_IFUNC) of the dynamic symbol table; sorted, unique. */
  functions: string[];
  /** Defined, visible GLOBAL/WEAK data objects (OBJECT) of the dynamic symbol table; sorted, unique. */
  objects: string[];
  /** Undefined GLOBAL/WEAK symbols of the dynamic symbol table (what it expects another library to define); sorted, unique. */
  imports: string[];
}

/** The file is not an ELF file, or is truncated or malformed. I/O errors (ENOENT, EACCES, EISDIR) are thrown as Node reports them. */
export class ElfError extends Error {
  override name = 'ElfError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

// Section types, program header types, dynamic tags, symbol fields (System V gABI).
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PN_XNUM = 0xffff;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_HASH = 4;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_GNU_HASH = 0x6ffffef5;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STV_INTERNAL = 1;
const STV_HIDDEN = 2;

/** Largest table this reader agrees to load at once (a real .dynsym is a few MiB at most). */
const MAX_TABLE_BYTES = 256 * 1024 * 1024;

const MACHINES: Readonly<Record<number, string>> = {
  0: 'none',
  2: 'sparc',
  3: 'x86',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  42: 'superh',
  43: 'sparcv9',
  50: 'ia64',
  62: 'x86-64',
  183: 'aarch64',
  243: 'riscv',
  247: 'bpf',
  258: 'loongarch',
};

/** Lists the dynamic exports, imports, DT_NEEDED and DT_SONAME of the ELF file at `path` (synchronously: the worker reads them as it loads). */
export function readElfExportsSync(path: string): ElfExports {
  const fd = openSync(path, 'r');
  try {
    return new ElfFile(path, fd, fstatSync(fd).size).exports();
  } finally {
    closeSync(fd);
  }
}

/** Lists the dynamic exports, imports, DT_NEEDED and DT_SONAME of the ELF file at `path`. */
export async function readElfExports(path: string): Promise<ElfExports> {
  return readElfExportsSync(path);
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

interface ElfSymbol {
  name: number;
  info: number;
  other: number;
  shndx: number;
}

/** A view of one ELF file: knows its class and byte order, and reads checked ranges of it. */
class ElfFile {
  private is64 = true;
  private le = true;

  constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly size: number,
  ) {}

  private fail(detail: string): never {
    throw new ElfError(this.path, detail);
  }

  /** Reads `length` bytes at `offset`, or fails naming `what` if the file does not hold them. */
  private read(offset: number, length: number, what: string): Buffer {
    if (length > MAX_TABLE_BYTES) this.fail(`${what} claims ${length} bytes, over the ${MAX_TABLE_BYTES}-byte maximum`);
    if (offset + length > this.size) {
      this.fail(`truncated: ${what} needs bytes ${offset}..${offset + length} but the file has ${this.size} bytes`);
    }
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.fd, buffer, done, length - done, offset + done);
      if (bytesRead === 0) this.fail(`truncated: ${what} ends at byte ${offset + done} (file shrank while being read)`);
      done += bytesRead;
    }
    return buffer;
  }

  private u8(b: Buffer, at: number): number {
    return b.readUInt8(at);
  }
  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }
  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }
  /** An address-sized field (Elf32_Addr/Off/Word or Elf64_Addr/Off/Xword) as a safe number. */
  private word(b: Buffer, at: number, what: string): number {
    if (!this.is64) return this.u32(b, at);
    const value = this.le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is out of range (${value})`);
    return Number(value);
  }
  /** A signed address-sized field (d_tag), as a number; huge tags are out of any range we use. */
  private sword(b: Buffer, at: number): number {
    if (!this.is64) return this.le ? b.readInt32LE(at) : b.readInt32BE(at);
    const value = this.le ? b.readBigInt64LE(at) : b.readBigInt64BE(at);
    return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER) ? -1 : Number(value);
  }

  exports(): ElfExports {
    this.readIdent();
    const header = this.read(0, this.is64 ? 64 : 52, 'the ELF header');
    const machine = this.u16(header, 18);
    const [phoff, shoff] = this.is64
      ? [this.word(header, 32, 'e_phoff'), this.word(header, 40, 'e_shoff')]
      : [this.u32(header, 28), this.u32(header, 32)];
    const base = this.is64 ? 54 : 42;
    const phentsize = this.u16(header, base);
    let phnum = this.u16(header, base + 2);
    const shentsize = this.u16(header, base + 4);
    let shnum = this.u16(header, base + 6);

    // Extended numbering: section 0 holds the real counts when they overflow 16 bits.
    let sections: Section[] = [];
    if (shoff !== 0) {
      this.checkEntsize(shentsize, this.is64 ? 64 : 40, 'e_shentsize');
      const first = this.parseSection(this.read(shoff, shentsize, 'section header 0'), 0);
      if (shnum === 0) shnum = first.size;
      if (phnum === PN_XNUM) phnum = first.info;
      const table = this.read(shoff, shnum * shentsize, `the section header table (${shnum} entries)`);
      sections = Array.from({ length: shnum }, (_, i) => this.parseSection(table, i * shentsize));
    }
    let segments: Segment[] = [];
    if (phoff !== 0 && phnum > 0) {
      this.checkEntsize(phentsize, this.is64 ? 56 : 32, 'e_phentsize');
      const table = this.read(phoff, phnum * phentsize, `the program header table (${phnum} entries)`);
      segments = Array.from({ length: phnum }, (_, i) => this.parseSegment(table, i * phentsize));
    }

    const dynamic = this.readDynamic(sections, segments);
    const symbols = this.readSymbols(sections, segments, dynamic);

    const result: ElfExports = {
      class: this.is64 ? 64 : 32,
      machine: MACHINES[machine] ?? `unknown(${machine})`,
      needed: dynamic.needed,
      functions: symbols.functions,
      imports: symbols.imports,
      objects: symbols.objects,
    };
    if (dynamic.soname !== undefined) result.soname = dynamic.soname;
    return result;
  }

  /** Checks magic, class, byte order and version; sets the class and byte order. */
  private readIdent(): void {
    if (this.size === 0) this.notElf(Buffer.alloc(0));
    if (this.size < 16) {
      const got = this.read(0, this.size, 'the ELF identification');
      if (!ELF_MAGIC.every((byte, i) => i >= got.length || got[i] === byte)) this.notElf(got);
      this.fail(`truncated: not even an ELF identification (${this.size} bytes, expected at least 16)`);
    }
    const ident = this.read(0, 16, 'the ELF identification');
    if (!ELF_MAGIC.every((byte, i) => ident[i] === byte)) this.notElf(ident);
    const cls = ident[4];
    if (cls !== 1 && cls !== 2) this.fail(`unsupported ELF class ${cls} (expected 1 for ELFCLASS32 or 2 for ELFCLASS64)`);
    const data = ident[5];
    if (data !== 1 && data !== 2) this.fail(`unsupported ELF data encoding ${data} (expected 1 little-endian or 2 big-endian)`);
    if (ident[6] !== 1) this.fail(`unsupported ELF version ${ident[6]} (expected 1)`);
    this.is64 = cls === 2;
    this.le = data === 1;
  }

  private notElf(bytes: Buffer): never {
    const hex = (b: Iterable<number>) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    this.fail(`not an ELF file (magic ${hex(bytes.subarray(0, 4)) || 'none: the file is empty'}, expected ${hex(ELF_MAGIC)})`);
  }

  private checkEntsize(actual: number, minimum: number, what: string): void {
    if (actual < minimum) this.fail(`${what} is ${actual}, expected at least ${minimum}`);
  }

  private parseSection(b: Buffer, at: number): Section & { info: number } {
    return this.is64
      ? {
          type: this.u32(b, at + 4),
          offset: this.word(b, at + 24, 'sh_offset'),
          size: this.word(b, at + 32, 'sh_size'),
          link: this.u32(b, at + 40),
          info: this.u32(b, at + 44),
          entsize: this.word(b, at + 56, 'sh_entsize'),
        }
      : {
          type: this.u32(b, at + 4),
          offset: this.u32(b, at + 16),
          size: this.u32(b, at + 20),
          link: this.u32(b, at + 24),
          info: this.u32(b, at + 28),
          entsize: this.u32(b, at + 36),
        };
  }

  private parseSegment(b: Buffer, at: number): Segment {
    return this.is64
      ? {
          type: this.u32(b, at),
          offset: this.word(b, at + 8, 'p_offset'),
          vaddr: this.word(b, at + 16, 'p_vaddr'),
          filesz: this.word(b, at + 32, 'p_filesz'),
        }
      : {
          type: this.u32(b, at),
          offset: this.u32(b, at + 4),
          vaddr: this.u32(b, at + 8),
          filesz: this.u32(b, at + 16),
        };
  }

  /** The file offset of a virtual address, through the PT_LOAD segments. */
  private offsetOf(segments: Segment[], address: number, what: string): number {
    for (const s of segments) {
      if (s.type === PT_LOAD && address >= s.vaddr && address < s.vaddr + s.filesz) return s.offset + (address - s.vaddr);
    }
    return this.fail(`${what} address 0x${address.toString(16)} is in no PT_LOAD segment`);
  }

  /** Reads the dynamic section: tags by value, DT_NEEDED and DT_SONAME strings. */
  private readDynamic(sections: Section[], segments: Segment[]) {
    const needed: string[] = [];
    const tags = new Map<number, number>();
    let soname: string | undefined;
    const segment = segments.find((s) => s.type === PT_DYNAMIC);
    const section = sections.find((s) => s.type === SHT_DYNAMIC);
    const where = segment ? { offset: segment.offset, size: segment.filesz } : section ? { offset: section.offset, size: section.size } : undefined;
    if (!where) return { needed, soname, tags };

    const entsize = this.is64 ? 16 : 8;
    const table = this.read(where.offset, where.size - (where.size % entsize), 'the dynamic section');
    const names: { tag: number; value: number }[] = [];
    for (let at = 0; at + entsize <= table.length; at += entsize) {
      const tag = this.sword(table, at);
      if (tag === DT_NULL) break;
      const value = this.word(table, at + entsize / 2, 'a dynamic entry');
      if (tag === DT_NEEDED || tag === DT_SONAME) names.push({ tag, value });
      else if (!tags.has(tag)) tags.set(tag, value);
    }
    if (names.length > 0) {
      const strings = this.dynamicStrings(sections, segments, section, tags);
      for (const { tag, value } of names) {
        const name = this.string(strings, value, tag === DT_NEEDED ? 'a DT_NEEDED name' : 'the DT_SONAME');
        if (tag === DT_NEEDED) needed.push(name);
        else soname ??= name;
      }
    }
    return { needed, soname, tags };
  }

  /** The string table of the dynamic section: SHT_DYNAMIC's sh_link, else DT_STRTAB/DT_STRSZ. */
  private dynamicStrings(sections: Section[], segments: Segment[], dynamic: Section | undefined, tags: Map<number, number>): Buffer {
    const linked = dynamic ? sections[dynamic.link] : undefined;
    if (linked && linked.type === SHT_STRTAB) return this.read(linked.offset, linked.size, 'the dynamic string table');
    const address = tags.get(DT_STRTAB);
    const size = tags.get(DT_STRSZ);
    if (address === undefined || size === undefined) this.fail('the dynamic section has no DT_STRTAB/DT_STRSZ');
    return this.read(this.offsetOf(segments, address, 'DT_STRTAB'), size, 'the dynamic string table (DT_STRTAB)');
  }

  /** Reads the NUL-terminated string at `offset` of a string table. */
  private string(table: Buffer, offset: number, what: string): string {
    if (offset >= table.length) this.fail(`${what} is at offset ${offset}, past the end of its ${table.length}-byte string table`);
    const end = table.indexOf(0, offset);
    if (end < 0) this.fail(`${what} at offset ${offset} is not NUL-terminated`);
    return table.toString('utf8', offset, end);
  }

  /** Reads the dynamic symbol table and sorts its defined, visible symbols into functions and objects. */
  private readSymbols(sections: Section[], segments: Segment[], dynamic: { tags: Map<number, number> }) {
    const symsize = this.is64 ? 24 : 16;
    let table: Buffer | undefined;
    let strings: Buffer | undefined;
    let entsize = symsize;

    const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
    if (dynsym) {
      entsize = dynsym.entsize || symsize;
      this.checkEntsize(entsize, symsize, 'the .dynsym sh_entsize');
      const strtab = sections[dynsym.link];
      if (!strtab || strtab.type !== SHT_STRTAB) this.fail(`the .dynsym's sh_link ${dynsym.link} is not a string table`);
      table = this.read(dynsym.offset, dynsym.size - (dynsym.size % entsize), 'the .dynsym section');
      strings = this.read(strtab.offset, strtab.size, 'the .dynstr section');
    } else if (dynamic.tags.has(DT_SYMTAB)) {
      // No section headers (or no .dynsym among them): find the table through the dynamic segment, as the loader does.
      const symtab = this.offsetOf(segments, dynamic.tags.get(DT_SYMTAB)!, 'DT_SYMTAB');
      const count = this.symbolCount(segments, dynamic.tags);
      table = this.read(symtab, count * symsize, `the dynamic symbol table (${count} symbols)`);
      strings = this.dynamicStrings(sections, segments, undefined, dynamic.tags);
    }

    const functions = new Set<string>();
    const objects = new Set<string>();
    const imports = new Set<string>();
    if (table && strings) {
      // Entry 0 is always the undefined null symbol.
      for (let at = entsize; at + symsize <= table.length; at += entsize) {
        const symbol = this.parseSymbol(table, at);
        const bind = symbol.info >> 4;
        const type = symbol.info & 0xf;
        const visibility = symbol.other & 0x3;
        if (bind !== STB_GLOBAL && bind !== STB_WEAK && bind !== STB_GNU_UNIQUE) continue;
        if (visibility === STV_HIDDEN || visibility === STV_INTERNAL) continue;
        // Undefined (imports) and reserved indices (SHN_ABS: version-name symbols like GLIBC_2.2.5) are not exports.
        if (symbol.name === 0) continue;
        if (symbol.shndx === SHN_UNDEF) {
          imports.add(this.string(strings, symbol.name, 'a symbol name'));
          continue;
        }
        if (symbol.shndx >= SHN_LORESERVE && symbol.shndx !== SHN_XINDEX) continue;
        if (type === STT_FUNC || type === STT_GNU_IFUNC) functions.add(this.string(strings, symbol.name, 'a symbol name'));
        else if (type === STT_OBJECT) objects.add(this.string(strings, symbol.name, 'a symbol name'));
      }
    }
    return { functions: [...functions].sort(), objects: [...objects].sort(), imports: [...imports].sort() };
  }

  private parseSymbol(b: Buffer, at: number): ElfSymbol {
    return this.is64
      ? { name: this.u32(b, at), info: this.u8(b, at + 4), other: this.u8(b, at + 5), shndx: this.u16(b, at + 6) }
      : { name: this.u32(b, at), info: this.u8(b, at + 12), other: this.u8(b, at + 13), shndx: this.u16(b, at + 14) };
  }

  /** Number of dynamic symbols, from DT_HASH's nchain or by walking DT_GNU_HASH's chains. */
  private symbolCount(segments: Segment[], tags: Map<number, number>): number {
    const hash = tags.get(DT_HASH);
    if (hash !== undefined) {
      const header = this.read(this.offsetOf(segments, hash, 'DT_HASH'), 8, 'the DT_HASH header');
      return this.u32(header, 4);
    }
    const gnu = tags.get(DT_GNU_HASH);
    if (gnu === undefined) this.fail('no section headers, and the dynamic section has neither DT_HASH nor DT_GNU_HASH');
    const at = this.offsetOf(segments, gnu, 'DT_GNU_HASH');
    const header = this.read(at, 16, 'the DT_GNU_HASH header');
    const nbuckets = this.u32(header, 0);
    const symoffset = this.u32(header, 4);
    const bloomWords = this.u32(header, 8);
    const bucketsAt = at + 16 + bloomWords * (this.is64 ? 8 : 4);
    const buckets = this.read(bucketsAt, nbuckets * 4, 'the DT_GNU_HASH buckets');
    let last = 0;
    for (let i = 0; i < nbuckets; i++) last = Math.max(last, this.u32(buckets, i * 4));
    if (last < symoffset) return symoffset;
    // Walk the last chain to its end (the entry with the low bit set).
    const chainsAt = bucketsAt + nbuckets * 4;
    for (let index = last; ; index++) {
      const entry = this.u32(this.read(chainsAt + (index - symoffset) * 4, 4, 'a DT_GNU_HASH chain'), 0);
      if (entry & 1) return index + 1;
    }
  }
}
