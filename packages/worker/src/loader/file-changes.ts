import { IN, errno, inotifyAddWatch, inotifyInit1, readInto } from '../native/libc.js';

/** read(2)'s errno when a non-blocking descriptor has nothing to read. */
const EAGAIN = 11;

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

  /**
   * Made as the worker starts, before its hygiene baseline is taken (so the descriptor is part of
   * it). It stays where inotify_init1 puts it: moving it high (F_DUPFD past the table's size)
   * makes the kernel grow the descriptor table, which in a threaded process waits for an RCU
   * grace period: 11 ms of every worker's start.
   */
  constructor() {
    this.fd = inotifyInit1(IN.NONBLOCK | IN.CLOEXEC);
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
    // Nothing to read is EAGAIN (an inotify descriptor never reads 0 bytes); an end of file or any
    // other error (a plugin closed the descriptor, or put another file in its place) and the
    // watch cannot be trusted any more: every check stats from now on.
    if (read === 0 || (read < 0 && errno() !== EAGAIN)) {
      this.fd = -1;
      return (this.count += 1);
    }
    if (events) this.count += 1;
    return this.count;
  }
}
