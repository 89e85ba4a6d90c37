import { F_DUPFD_CLOEXEC, IN, close, errno, fcntl3, inotifyAddWatch, inotifyInit1, readInto } from '../native/libc.js';

/** read(2)'s errno when a non-blocking descriptor has nothing to read. */
const EAGAIN = 11;

/** Lowest number the watch descriptor is moved to: the lowest free descriptor stays where calls expect it (the hygiene check watches it). */
const WATCH_FD_FLOOR = 512;
/** What happens to a file that was rewritten, replaced (its link count drops), moved or removed. */
const WATCHED = IN.MODIFY | IN.ATTRIB | IN.CLOSE_WRITE | IN.DELETE_SELF | IN.MOVE_SELF;

/**
 * Whether anything happened to the files of the libraries this worker loaded, for the price of
 * one non-blocking read per call: one inotify instance watches them all, and a library's file is
 * stat'ed again only after an event (a stat per call cost more than the rest of the check).
 * Where inotify is not to be had (no instance left for the user), every check says "maybe".
 */
export class FileChanges {
  private fd: number;
  private readonly buffer = Buffer.alloc(4096);
  /** Bumped whenever events came: a library checked at an older count is checked again. */
  private count = 1;

  constructor() {
    let fd = inotifyInit1(IN.NONBLOCK | IN.CLOEXEC);
    if (fd >= 0) {
      const high = fcntl3(fd, F_DUPFD_CLOEXEC, WATCH_FD_FLOOR) as number;
      if (high >= 0) {
        close(fd);
        fd = high;
      }
    }
    this.fd = fd;
  }

  /** Watches a file; false when it cannot be watched (its changes are then looked for at every check). */
  watch(path: string): boolean {
    return this.fd >= 0 && inotifyAddWatch(this.fd, path, WATCHED) >= 0;
  }

  /** The count to compare with the one a library was last checked at: a new one means "look again". */
  current(): number {
    if (this.fd < 0) return (this.count += 1);
    let events = false;
    let read: number;
    while ((read = readInto(this.fd, this.buffer, this.buffer.length)) > 0) events = true;
    // Nothing to read is EAGAIN; anything else (a plugin closed or replaced the descriptor) and
    // the watch cannot be trusted any more: every check stats from now on.
    if (read < 0 && errno() !== EAGAIN) {
      this.fd = -1;
      return (this.count += 1);
    }
    if (events) this.count += 1;
    return this.count;
  }
}
