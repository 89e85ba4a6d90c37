import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import koffi from 'koffi';
import { F_DUPFD_CLOEXEC, close, fcntl3, fstatInto, getcwdInto, getitimerInto, getrlimitInto, umask } from '../native/libc.js';

/**
 * The resource limits a call could change to harm a later one (every RLIMIT_* but the
 * scheduling, locking and queue ones): CPU, FSIZE, DATA, STACK, CORE, NPROC, NOFILE, AS.
 */
export const WATCHED_RLIMITS = [0, 1, 2, 3, 4, 6, 7, 9] as const;
const RLIMIT_NAMES: Record<number, string> = { 0: 'CPU', 1: 'FSIZE', 2: 'DATA', 3: 'STACK', 4: 'CORE', 6: 'NPROC', 7: 'NOFILE', 9: 'AS' };

/** The name of a resource limit, for messages: `RLIMIT_DATA`. */
export function rlimitName(resource: number): string {
  return `RLIMIT_${RLIMIT_NAMES[resource] ?? resource}`;
}

/** Bytes of `struct rlimit` (two 64-bit values) and of the device and inode at the start of `struct stat` (x86-64 and arm64 alike). */
const RLIMIT_BYTES = 16;
const STAT_ID_BYTES = 16;
/** ITIMER_REAL, the timer of alarm() and setitimer(); `it_value` is the second half of `struct itimerval`. */
const ITIMER_REAL = 0;
const PAGE_SIZE = 4096;

/**
 * What a call running inside this process left that could act by itself later: threads, child
 * processes, armed timers. Read in four cheap syscalls, before the call is answered.
 */
export interface LiveState {
  threads: number;
  /** The main thread's children (other threads' children show up as extra threads first). */
  children: string;
  /** Armed interval timers (alarm, setitimer) and POSIX timers. */
  timers: string[];
}

/**
 * What a call running inside this process could have changed for the next one. Read in about
 * twenty cheap syscalls, after the call is answered: /proc files are kept open and re-read at
 * offset 0 (the kernel regenerates them), libc results land in preallocated buffers.
 */
export interface ProcessState {
  rssBytes: number;
  /** Pending, blocked, ignored and caught signal masks (of the process and its main thread). */
  signals: string;
  /** `struct rlimit` of each WATCHED_RLIMITS resource, back to back. */
  rlimits: Buffer;
  /** Device and inode of fds 0, 1 and 2 (zeros for a closed one). */
  stdio: Buffer;
  /** The lowest free descriptor number: it moves when a call leaves descriptors open (or closes ours). */
  lowestFreeFd: number;
  cwd: string;
  umask: number;
  /** The C environment, as `environ` holds it now: the addresses of its entries. */
  environment: string;
}

/** Reads the process state; its own descriptors are opened once, at construction. */
export class ProcessStateReader {
  private readonly stat = openSync('/proc/self/stat', 'r');
  private readonly tasks = openSync('/proc/self/task', 'r');
  private readonly children = openSync(`/proc/self/task/${process.pid}/children`, 'r');
  private readonly posixTimers = openSync('/proc/self/timers', 'r');
  private readonly text = Buffer.alloc(4096);
  private readonly scratch = Buffer.alloc(256);
  private readonly path = Buffer.alloc(4096);

  /** Threads, children, timers. */
  readLive(): LiveState {
    const timers: string[] = [];
    if (getitimerInto(ITIMER_REAL, this.scratch) === 0 && (this.scratch.readBigInt64LE(16) !== 0n || this.scratch.readBigInt64LE(24) !== 0n)) {
      timers.push('ITIMER_REAL (alarm)');
    }
    if (readSync(this.posixTimers, this.scratch, 0, 1, 0) > 0) timers.push('POSIX timers');
    return {
      // A /proc/<pid>/task directory links one entry per thread, plus its `.` and `..`.
      threads: fstatSync(this.tasks).nlink - 2,
      children: this.readText(this.children).trim(),
      timers,
    };
  }

  /** Everything else. */
  read(): ProcessState {
    const stat = this.readText(this.stat);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 32);
    const rlimits = Buffer.alloc(WATCHED_RLIMITS.length * RLIMIT_BYTES);
    WATCHED_RLIMITS.forEach((resource, index) => {
      if (getrlimitInto(resource, this.scratch) === 0) this.scratch.copy(rlimits, index * RLIMIT_BYTES, 0, RLIMIT_BYTES);
    });
    const stdio = Buffer.alloc(3 * STAT_ID_BYTES);
    for (let fd = 0; fd < 3; fd += 1) {
      if (fstatInto(fd, this.scratch) === 0) this.scratch.copy(stdio, fd * STAT_ID_BYTES, 0, STAT_ID_BYTES);
    }
    const mask = umask(0o22);
    umask(mask);
    return {
      rssBytes: Number(fields[21]) * PAGE_SIZE,
      signals: `${fields[28]} ${fields[29]} ${fields[30]} ${fields[31]}`,
      rlimits,
      stdio,
      lowestFreeFd: this.lowestFreeFd(),
      cwd: this.currentDirectory(),
      umask: mask,
      environment: environmentText(),
    };
  }

  private readText(fd: number): string {
    const length = readSync(fd, this.text, 0, this.text.length, 0);
    return this.text.toString('latin1', 0, length);
  }

  private lowestFreeFd(): number {
    const fd = fcntl3(this.stat, F_DUPFD_CLOEXEC, 0) as number;
    if (fd >= 0) close(fd);
    return fd;
  }

  private currentDirectory(): string {
    if (getcwdInto(this.path, this.path.length) === null) return '(unreachable)';
    return this.path.toString('utf8', 0, this.path.indexOf(0));
  }

  close(): void {
    for (const fd of [this.stat, this.tasks, this.children, this.posixTimers]) closeSync(fd);
  }
}

/** The limit of one watched resource in a state's `rlimits`. */
export function rlimitOf(rlimits: Buffer, index: number): { cur: bigint; max: bigint } {
  return { cur: rlimits.readBigUInt64LE(index * RLIMIT_BYTES), max: rlimits.readBigUInt64LE(index * RLIMIT_BYTES + 8) };
}

/** Whether fd `fd` in a state's `stdio` is closed. */
export function stdioClosed(stdio: Buffer, fd: number): boolean {
  return stdio.readBigUInt64LE(fd * STAT_ID_BYTES) === 0n && stdio.readBigUInt64LE(fd * STAT_ID_BYTES + 8) === 0n;
}

/** Whether fd `fd` is the same file in two states' `stdio`. */
export function sameStdio(a: Buffer, b: Buffer, fd: number): boolean {
  return a.compare(b, fd * STAT_ID_BYTES, (fd + 1) * STAT_ID_BYTES, fd * STAT_ID_BYTES, (fd + 1) * STAT_ID_BYTES) === 0;
}

/** The process's own `environ` (the executable's copy, which the C library uses). */
const environ = koffi.load(null).symbol('environ', 'void *');
const ENVIRON_CHUNK = koffi.array('uint64_t', 8, 'Typed');

/**
 * The C environment as the addresses of its entries, read straight from `environ` (a fifth of
 * the cost of enumerating process.env): setenv, putenv and unsetenv all change them. Read 8
 * entries at a time up to the terminating NULL.
 */
function environmentText(): string {
  const array = koffi.decode(environ, 'void *') as unknown;
  if (array === null) return '';
  let text = '';
  for (let offset = 0; offset < 1 << 16; offset += 64) {
    const chunk = koffi.decode(array, offset, ENVIRON_CHUNK) as BigUint64Array;
    for (const entry of chunk) {
      if (entry === 0n) return text;
      text += `${entry},`;
    }
  }
  return text;
}
