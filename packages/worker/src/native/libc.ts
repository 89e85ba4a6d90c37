import './koffi-setup.js';
import koffi from 'koffi';

/**
 * The few libc functions the worker needs to guard itself, bound once through koffi.
 * Loaded before any plugin so nothing a plugin exports can interpose on them.
 */
const libc = koffi.load('libc.so.6');

const RLimit = koffi.struct('airlock_rlimit', { cur: 'uint64_t', max: 'uint64_t' });

export const RLIMIT = { CPU: 0, DATA: 2, CORE: 4, NOFILE: 7, NPROC: 6, AS: 9 } as const;
export const PR = { SET_PDEATHSIG: 1, SET_DUMPABLE: 4, SET_NO_NEW_PRIVS: 38, SET_CHILD_SUBREAPER: 36 } as const;
/** RLIM_INFINITY */
export const UNLIMITED = 0xffffffffffffffffn;

const getrlimitNative = libc.func('int getrlimit(int resource, _Out_ airlock_rlimit *rlim)');
const setrlimitNative = libc.func('int setrlimit(int resource, const airlock_rlimit *rlim)');
const prctlNative = libc.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
/** Raw forms for hot paths: results land in caller-owned memory (a Buffer), no object is built. */
export const getrlimitInto = libc.func('int getrlimit(int resource, void *rlim)') as (resource: number, into: Buffer) => number;
export const getitimerInto = libc.func('int getitimer(int which, void *value)') as (which: number, into: Buffer) => number;
export const fstatInto = libc.func('int fstat(int fd, void *statbuf)') as (fd: number, into: Buffer) => number;
export const getcwdInto = libc.func('void *getcwd(void *buf, size_t size)') as (into: Buffer, size: number) => unknown;
const errnoLocation = libc.func('int *__errno_location(void)');
const strerrorNative = libc.func('const char *strerror(int errnum)');

export const dup = libc.func('int dup(int fd)');
export const dup2 = libc.func('int dup2(int oldfd, int newfd)');
export const close = libc.func('int close(int fd)');
export const getppid = libc.func('int getppid(void)');
export const fcntl3 = libc.func('int fcntl(int fd, int cmd, int arg)');
export const fflush = libc.func('int fflush(void *stream)');
/** ioctl with a pointer argument, written into caller-owned memory (ioctl is variadic in C; a pointer passes alike). */
export const ioctlInto = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as (fd: number, request: number, into: Buffer) => number;
/** Bytes waiting to be read in a pipe (asm-generic, as on x86-64 and arm64). */
export const FIONREAD = 0x541b;
/** Bytes a socket has sent that its peer has not read yet (TIOCOUTQ's number). */
export const SIOCOUTQ = 0x5411;
/** Lets another runnable thread (the host, on a busy machine) have this CPU. */
export const schedYield = libc.func('int sched_yield(void)') as () => number;
export const umask = libc.func('unsigned int umask(unsigned int mask)') as (mask: number) => number;
/** Gives memory malloc holds free back to the kernel (so it is not counted as the worker's own). */
export const mallocTrim = libc.func('int malloc_trim(size_t pad)') as (pad: number) => number;
const dlopenNative = libc.func('void *dlopen(const char *file, int mode)');
const dlinfoNative = libc.func('int dlinfo(void *handle, int request, void *info)');
const dlcloseNative = libc.func('int dlclose(void *handle)');
const RTLD_LAZY = 1;
const RTLD_NOLOAD = 4;
const RTLD_DI_LINKMAP = 2;
/** `struct link_map`'s `l_name` comes after `l_addr`, one pointer in. */
const LINK_MAP_NAME_OFFSET = 8;

/**
 * The file the loader loaded for `name` (as given to dlopen: a bare name is resolved as the
 * loader resolved it), or undefined when it is not loaded. Takes and drops one reference.
 */
export function loadedFilePath(name: string): string | undefined {
  const handle = dlopenNative(name, RTLD_LAZY | RTLD_NOLOAD);
  if (handle === null || handle === 0n) return undefined;
  try {
    const out = Buffer.alloc(8);
    if (dlinfoNative(handle, RTLD_DI_LINKMAP, out) !== 0) return undefined;
    const map = koffi.decode(out, 'void *');
    const path = koffi.decode(map, LINK_MAP_NAME_OFFSET, 'const char *') as string | null;
    return path === null || path === '' ? undefined : path;
  } finally {
    dlcloseNative(handle);
  }
}

/** inotify(7), for noticing that a loaded library's file changed without a stat per call. */
export const inotifyInit1 = libc.func('int inotify_init1(int flags)') as (flags: number) => number;
export const inotifyAddWatch = libc.func('int inotify_add_watch(int fd, const char *pathname, uint32_t mask)') as (fd: number, path: string, mask: number) => number;
/** read(2) into caller-owned memory: a non-blocking descriptor with nothing to read gives -1. */
export const readInto = libc.func('intptr_t read(int fd, void *buf, size_t count)') as (fd: number, into: Buffer, count: number) => number;
export const IN = { NONBLOCK: 0o4000, CLOEXEC: 0o2000000, MODIFY: 0x2, ATTRIB: 0x4, CLOSE_WRITE: 0x8, DELETE_SELF: 0x400, MOVE_SELF: 0x800 } as const;

export const F_SETFD = 2;
export const F_GETFD = 1;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

/** The calling thread's errno. */
export function errno(): number {
  return koffi.decode(errnoLocation(), 'int') as number;
}

/** `strerror(errno)` for the last failed call. */
export function lastError(): string {
  const code = errno();
  return `${strerrorNative(code) as string} (errno ${code})`;
}

/** Reads a resource limit. */
export function getrlimit(resource: number): { cur: bigint; max: bigint } {
  const out = { cur: 0n, max: 0n };
  if (getrlimitNative(resource, out) !== 0) throw new Error(`getrlimit(${resource}) failed: ${lastError()}`);
  return { cur: BigInt(out.cur), max: BigInt(out.max) };
}

/** Sets a resource limit; throws with errno's text on failure. */
export function setrlimit(resource: number, cur: bigint, max: bigint): void {
  if (setrlimitNative(resource, { cur, max }) !== 0) throw new Error(`setrlimit(${resource}, ${cur}, ${max}) failed: ${lastError()}`);
}

/** prctl with numeric arguments; throws on failure. */
export function prctl(option: number, arg2 = 0): void {
  if (prctlNative(option, arg2, 0, 0, 0) !== 0) throw new Error(`prctl(${option}) failed: ${lastError()}`);
}

void RLimit;

/** mmap(2), for the result log shared with the host through a file. */
export const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (
  addr: null,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number,
) => unknown;
export const PROT_READ_WRITE = 3;
export const MAP_SHARED = 1;
