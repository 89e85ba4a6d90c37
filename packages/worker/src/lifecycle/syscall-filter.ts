import koffi from 'koffi';
import '../native/koffi-setup.js';

const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long number, ...)') as (...args: unknown[]) => number | bigint;
const SockFprog = koffi.struct('airlock_sock_fprog', { len: 'uint16_t', filter: 'void *' });

/** The syscall numbers the filter looks at, per architecture, and the architecture's audit id. */
const ARCHES: Record<string, { audit: number; clone: number; clone3: number; seccomp: number; x32: boolean }> = {
  x64: { audit: 0xc000003e, clone: 56, clone3: 435, seccomp: 317, x32: true },
  arm64: { audit: 0xc00000b7, clone: 220, clone3: 435, seccomp: 277, x32: false },
};

// Classic BPF, as seccomp runs it over `struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }`.
const LD_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET = 0x06; // BPF_RET | BPF_K
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_PARENT = 0x00008000;
const X32_SYSCALL_BIT = 0x40000000;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const OFFSET = { nr: 0, arch: 4, arg0: 16 } as const;

type Instruction = [code: number, jt: number, jf: number, k: number];

/** The filter program for one architecture (jumps are counted from the next instruction). */
export function filterProgram(arch: (typeof ARCHES)[string]): Instruction[] {
  const program: Instruction[] = [
    [LD_ABS, 0, 0, OFFSET.arch],
    // Another ABI of the same CPU (i386 through int 0x80 on x86-64): nothing of it is allowed.
    [JEQ, 1, 0, arch.audit],
    [RET, 0, 0, RET_ERRNO | ENOSYS],
    [LD_ABS, 0, 0, OFFSET.nr],
  ];
  // x32 system calls (the x86-64 numbers with bit 30 set): refused like another ABI.
  if (arch.x32) program.push([JGE, 0, 1, X32_SYSCALL_BIT], [RET, 0, 0, RET_ERRNO | ENOSYS]);
  program.push(
    // clone3 passes its flags in memory, where a filter cannot look: refused as "not there", so
    // the C library falls back to clone, whose flags it can see.
    [JEQ, 0, 1, arch.clone3],
    [RET, 0, 0, RET_ERRNO | ENOSYS],
    // clone with CLONE_PARENT would make a child of the host, outside the worker's tree.
    [JEQ, 0, 3, arch.clone],
    [LD_ABS, 0, 0, OFFSET.arg0],
    [JSET, 0, 1, CLONE_PARENT],
    [RET, 0, 0, RET_ERRNO | EPERM],
    [RET, 0, 0, RET_ALLOW],
  );
  return program;
}

/**
 * Installs the worker's seccomp filter on every thread of the worker (and, inherited, on every
 * thread and process plugin code starts): `clone(CLONE_PARENT)` fails with EPERM, `clone3` with
 * ENOSYS (glibc and Rust's std then use clone), other ABIs of the CPU with ENOSYS. Everything
 * else is allowed: this is not a sandbox, it keeps whatever a plugin starts inside the worker's
 * own process tree, where the host can count and kill it. Needs PR_SET_NO_NEW_PRIVS (set by
 * hardenProcess). Returns false where the architecture or the kernel does not allow it.
 */
export function installSyscallFilter(): boolean {
  const arch = ARCHES[process.arch];
  if (arch === undefined) return false;
  const program = filterProgram(arch);
  const filter = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], index) => {
    filter.writeUInt16LE(code, index * 8);
    filter.writeUInt8(jt, index * 8 + 2);
    filter.writeUInt8(jf, index * 8 + 3);
    filter.writeUInt32LE(k >>> 0, index * 8 + 4);
  });
  const result = syscall(arch.seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', SECCOMP_FILTER_FLAG_TSYNC, 'airlock_sock_fprog *', {
    len: program.length,
    filter,
  });
  return Number(result) === 0;
}

void SockFprog;
