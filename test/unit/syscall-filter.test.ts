// The worker's seccomp program, run by a small interpreter of classic BPF over made-up
// `struct seccomp_data`: what it refuses (clone with CLONE_PARENT, clone3, other ABIs) and what it
// lets through (everything else, including clone for threads and fork).
import { describe, expect, it } from 'vitest';
import { filterProgram } from '../../packages/worker/dist/lifecycle/syscall-filter.js';

const X64 = { audit: 0xc000003e, clone: 56, clone3: 435, seccomp: 317, x32: true };
const ALLOW = 0x7fff0000;
const ERRNO = (errno: number) => 0x00050000 | errno;

/** Runs a filter over one syscall: returns the SECCOMP_RET_* value. */
function run(program: Array<[number, number, number, number]>, data: { nr: number; arch: number; args?: number[] }): number {
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return data.arch >>> 0;
    const arg = (offset - 16) / 8;
    return (data.args?.[arg] ?? 0) >>> 0;
  };
  let accumulator = 0;
  for (let pc = 0; pc < program.length; ) {
    const [code, jt, jf, k] = program[pc]!;
    pc += 1;
    if (code === 0x20) accumulator = word(k);
    else if (code === 0x15) pc += accumulator === k >>> 0 ? jt : jf;
    else if (code === 0x35) pc += accumulator >= k >>> 0 ? jt : jf;
    else if (code === 0x45) pc += (accumulator & k) !== 0 ? jt : jf;
    else if (code === 0x06) return k >>> 0;
    else throw new Error(`unknown BPF code ${code}`);
  }
  throw new Error('the program fell off its end');
}

describe('the worker’s syscall filter', () => {
  const program = filterProgram(X64);
  const CLONE_PARENT = 0x8000;
  const CLONE_THREAD_FLAGS = 0x3d0f00; // what glibc passes for a pthread

  it('refuses clone(CLONE_PARENT) with EPERM and clone3 with ENOSYS', () => {
    expect(run(program, { nr: X64.clone, arch: X64.audit, args: [CLONE_PARENT | 17] })).toBe(ERRNO(1));
    expect(run(program, { nr: X64.clone3, arch: X64.audit })).toBe(ERRNO(38));
  });

  it('lets fork-like and thread clones through, and every other syscall', () => {
    expect(run(program, { nr: X64.clone, arch: X64.audit, args: [17] })).toBe(ALLOW);
    expect(run(program, { nr: X64.clone, arch: X64.audit, args: [CLONE_THREAD_FLAGS] })).toBe(ALLOW);
    for (const nr of [0, 1, 57, 58, 59, 60, 160, 302]) expect(run(program, { nr, arch: X64.audit })).toBe(ALLOW);
  });

  it('refuses other ABIs of the CPU (i386, x32) as not there', () => {
    expect(run(program, { nr: 120, arch: 0x40000003 })).toBe(ERRNO(38));
    expect(run(program, { nr: 0x40000000 | 56, arch: X64.audit })).toBe(ERRNO(38));
  });

  it('has every jump inside the program', () => {
    program.forEach(([code, jt, jf], pc) => {
      if (code !== 0x15 && code !== 0x35 && code !== 0x45) return;
      expect(pc + 1 + jt).toBeLessThan(program.length);
      expect(pc + 1 + jf).toBeLessThan(program.length);
    });
  });
});
