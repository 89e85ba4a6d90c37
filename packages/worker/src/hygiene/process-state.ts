import { closeSync, openSync, readSync } from 'node:fs';
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
export const RLIMIT_BYTES = 16;
const STAT_ID_BYTES = 16;
/** Where `st_nlink` sits in `struct stat`: a 64-bit field after the inode on x86-64, a 32-bit one after `st_mode` on arm64. */
const NLINK = process.arch === 'x64' ? { offset: 16, bits: 64 } : { offset: 20, bits: 32 };
/** ITIMER_REAL, the timer of alarm() and setitimer(); `it_value` is the second half of `struct itimerval`. */
const ITIMER_REAL = 0;
const PAGE_SIZE = 4096;
/** How long a moved lowest free descriptor is probed again before it counts (see settledLowestFreeFd). */
const FD_SETTLE_MS = 0.1;
/** The fields of /proc/self/stat read here, counted from the state (field 3) after the command's closing parenthesis. */
const STAT_RSS = 21;
const STAT_SIGNALS_FIRST = 28;
const STAT_SIGNALS_END = 32;

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
 * What a call running inside this process could have changed for the next one, as bytes the
 * kernel or the C library reported, so that comparing two states is comparing buffers. A reader
 * fills the same two states (the baseline and the latest) over and over: nothing is allocated
 * per call.
 */
export class ProcessState {
  rssBytes = 0;
  /** Pending, blocked, ignored and caught signal masks (of the process and its main thread), as /proc/self/stat prints them. */
  readonly signals = Buffer.alloc(4 * 24);
  signalsLength = 0;
  /** `struct rlimit` of each WATCHED_RLIMITS resource, back to back. */
  readonly rlimits = Buffer.alloc(WATCHED_RLIMITS.length * RLIMIT_BYTES);
  /** One window into `rlimits` per watched resource, where getrlimit writes it. */
  readonly rlimitSlots = WATCHED_RLIMITS.map((_, index) => this.rlimits.subarray(index * RLIMIT_BYTES, (index + 1) * RLIMIT_BYTES));
  /** Device and inode of fds 0, 1 and 2 (zeros for a closed one). */
  readonly stdio = Buffer.alloc(3 * STAT_ID_BYTES);
  /** The lowest free descriptor number: it moves when a call leaves descriptors open (or closes ours). */
  lowestFreeFd = 0;
  /** The working directory, NUL-terminated (empty when it cannot be named). */
  readonly cwd = Buffer.alloc(4096);
  umask = 0;
  /** Where `environ` points, and its entries (the addresses of the `NAME=value` strings) up to its NULL. */
  environAddress = 0n;
  environEntries = Buffer.alloc(0);

  /** Whether the signal handling is the same as in `other`. */
  sameSignals(other: ProcessState): boolean {
    const length = this.signalsLength;
    return length === other.signalsLength && this.signals.compare(other.signals, 0, length, 0, length) === 0;
  }

  /** Whether the working directory is the same as in `other`. */
  sameCwd(other: ProcessState): boolean {
    const end = this.cwd.indexOf(0);
    return end === other.cwd.indexOf(0) && this.cwd.compare(other.cwd, 0, end, 0, end) === 0;
  }

  /** The working directory, for messages. */
  cwdText(): string {
    const end = this.cwd.indexOf(0);
    return end <= 0 ? '(unreachable)' : this.cwd.toString('utf8', 0, end);
  }
}

/**
 * Reads the process state; its own descriptors are opened once, at construction, and /proc
 * files are re-read at offset 0 (the kernel regenerates them). Results land in preallocated
 * buffers: a read makes about twenty syscalls (some 12 µs) and allocates nothing.
 */
export class ProcessStateReader {
  private readonly stat = openSync('/proc/self/stat', 'r');
  private readonly tasks = openSync('/proc/self/task', 'r');
  private readonly children = openSync(`/proc/self/task/${process.pid}/children`, 'r');
  private readonly posixTimers = openSync('/proc/self/timers', 'r');
  private readonly text = Buffer.alloc(4096);
  private readonly scratch = Buffer.alloc(256);
  private readonly environ = new EnvironmentView();

  /** Threads, children, timers. */
  readLive(): LiveState {
    const timers: string[] = [];
    if (getitimerInto(ITIMER_REAL, this.scratch) === 0 && (this.scratch.readBigInt64LE(16) !== 0n || this.scratch.readBigInt64LE(24) !== 0n)) {
      timers.push('ITIMER_REAL (alarm)');
    }
    if (readSync(this.posixTimers, this.scratch, 0, 1, 0) > 0) timers.push('POSIX timers');
    const childrenLength = readSync(this.children, this.text, 0, this.text.length, 0);
    return {
      // A /proc/<pid>/task directory links one entry per thread, plus its `.` and `..`.
      threads: this.taskLinks() - 2,
      children: childrenLength === 0 ? '' : this.text.toString('latin1', 0, childrenLength).trim(),
      timers,
    };
  }

  /** Everything else, into `state`. */
  read(state: ProcessState): void {
    this.readStat(state);
    WATCHED_RLIMITS.forEach((resource, index) => {
      const slot = state.rlimitSlots[index] as Buffer;
      if (getrlimitInto(resource, slot) !== 0) slot.fill(0);
    });
    for (let fd = 0; fd < 3; fd += 1) {
      if (fstatInto(fd, this.scratch) === 0) this.scratch.copy(state.stdio, fd * STAT_ID_BYTES, 0, STAT_ID_BYTES);
      else state.stdio.fill(0, fd * STAT_ID_BYTES, (fd + 1) * STAT_ID_BYTES);
    }
    state.umask = umask(0o22);
    umask(state.umask);
    state.lowestFreeFd = this.lowestFreeFd();
    if (getcwdInto(state.cwd, state.cwd.length) === null) state.cwd[0] = 0;
    this.environ.read(state);
  }

  /** RSS and the signal masks, found by counting spaces in /proc/self/stat (no string is made). */
  private readStat(state: ProcessState): void {
    const text = this.text;
    const length = readSync(this.stat, text, 0, text.length, 0);
    let field = 0;
    let rss = 0;
    let signalsStart = length;
    let signalsEnd = length;
    for (let at = text.lastIndexOf(0x29, length - 1) + 2; at < length; at += 1) {
      const byte = text[at] as number;
      if (byte === 0x20) {
        field += 1;
        if (field === STAT_SIGNALS_FIRST) signalsStart = at + 1;
        else if (field === STAT_SIGNALS_END) {
          signalsEnd = at;
          break;
        }
      } else if (field === STAT_RSS) rss = rss * 10 + byte - 0x30;
    }
    state.rssBytes = rss * PAGE_SIZE;
    state.signalsLength = text.copy(state.signals, 0, signalsStart, Math.min(signalsEnd, signalsStart + state.signals.length));
  }

  private taskLinks(): number {
    if (fstatInto(this.tasks, this.scratch) !== 0) return 0;
    return NLINK.bits === 64 ? Number(this.scratch.readBigUInt64LE(NLINK.offset)) : this.scratch.readUInt32LE(NLINK.offset);
  }

  /**
   * The lowest free descriptor again, probed until it is `expected` or for a tenth of a
   * millisecond: another thread of the worker (the C library in one of Node's own threads,
   * reading /sys/devices/system/cpu/online as it makes a malloc arena) can hold a descriptor for
   * a few microseconds, and a call must not be blamed for it. One the call left open stays.
   */
  settledLowestFreeFd(expected: number): number {
    const until = performance.now() + FD_SETTLE_MS;
    let fd = this.lowestFreeFd();
    while (fd !== expected && performance.now() < until) fd = this.lowestFreeFd();
    return fd;
  }

  private lowestFreeFd(): number {
    const fd = fcntl3(this.stat, F_DUPFD_CLOEXEC, 0) as number;
    if (fd >= 0) close(fd);
    return fd;
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
/** Environments longer than this many entries are compared on their first ones only. */
const ENVIRON_MAX_ENTRIES = 8192;

/**
 * The C environment read in place: `environ` itself and the array it points to are viewed as
 * memory once, and each read copies the bytes (setenv, putenv and unsetenv all change them:
 * the array moves, or an entry changes). The array is counted again only when it moved.
 */
class EnvironmentView {
  private readonly pointer = Buffer.from(koffi.view(environ, 8));
  private address = -1n;
  private entries = Buffer.alloc(0);

  read(state: ProcessState): void {
    const address = this.pointer.readBigUInt64LE(0);
    if (address !== this.address) this.viewArray(address);
    state.environAddress = address;
    if (state.environEntries.length !== this.entries.length) state.environEntries = Buffer.alloc(this.entries.length);
    this.entries.copy(state.environEntries);
  }

  /** Views the array `environ` points to now, up to and with its NULL entry. */
  private viewArray(address: bigint): void {
    this.address = address;
    const array = koffi.decode(environ, 'void *') as unknown;
    if (array === null) {
      this.entries = Buffer.alloc(0);
      return;
    }
    let count = 0;
    counting: for (; count < ENVIRON_MAX_ENTRIES; count += 8) {
      const chunk = koffi.decode(array, count * 8, ENVIRON_CHUNK) as BigUint64Array;
      for (let index = 0; index < chunk.length; index += 1) {
        if (chunk[index] === 0n) {
          count += index;
          break counting;
        }
      }
    }
    this.entries = Buffer.from(koffi.view(array, (count + 1) * 8));
  }
}
