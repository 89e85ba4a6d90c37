import type { LimitApplier } from '../limits/apply-limits.js';
import { readDataBytes } from '../limits/self-status.js';
import { type LiveState, ProcessState, ProcessStateReader, RLIMIT_BYTES, WATCHED_RLIMITS, rlimitName, rlimitOf, sameStdio, stdioClosed } from './process-state.js';

/** Share of a call's memory budget it may leave allocated before its worker is retired. */
const LEAK_SHARE = 0.25;
/** …but never less than this (the worker's own heap moves by a few MiB). */
const LEAK_MIN_BYTES = 8 * 1024 * 1024;

/** What the host asks of its workers' hygiene (from the handshake). */
export interface HygieneOptions {
  maxRssBytes?: number | undefined;
}

/**
 * Decides after every call whether this worker is still as clean as it was before any plugin
 * ran: the same threads, no child processes, no armed timers, the same signal handling,
 * resource limits, standard descriptors, descriptor table, working directory, umask and
 * environment, memory within bounds. A call that changed any of them may have left something
 * that would strike a later, innocent call (a thread that crashes later, an alarm, a lowered
 * hard limit …): its own outcome is delivered as it was, and the worker retires.
 *
 * The baseline is what the worker looks like between calls; the worker takes it again after
 * its own work changes it (the memory watcher's thread, a command's first spawn).
 */
export class Hygiene {
  private readonly reader = new ProcessStateReader();
  private readonly baseline = new ProcessState();
  /** The state after the latest call, read into the same buffers every time. */
  private readonly now = new ProcessState();
  /** The limits a clean worker has now: the baseline's, with those the limit applier set in their place. */
  private readonly expectedRlimits = Buffer.alloc(WATCHED_RLIMITS.length * RLIMIT_BYTES);
  private liveBaseline: LiveState;

  constructor(
    private readonly limits: LimitApplier,
    private options: HygieneOptions = {},
  ) {
    this.reader.read(this.baseline);
    this.liveBaseline = this.reader.readLive();
  }

  /** The host's settings, from its handshake. */
  configure(options: HygieneOptions): void {
    this.options = options;
  }

  /** Takes the baseline again (the worker's own work changed what a clean worker looks like). */
  rebase(): void {
    this.reader.read(this.baseline);
    this.liveBaseline = this.reader.readLive();
  }

  /**
   * What the call left that could strike a later call by itself (threads, child processes, armed
   * timers): checked before the call is answered. Why this worker must not serve another call,
   * or undefined.
   */
  checkLive(): string | undefined {
    const now = this.reader.readLive();
    const before = this.liveBaseline;
    const problems: string[] = [];
    if (now.threads > before.threads) problems.push(`left ${now.threads - before.threads} thread(s) running`);
    else if (now.threads < before.threads) problems.push(`ended ${before.threads - now.threads} of the worker's own thread(s)`);
    if (now.children.length > 0) problems.push(`left child processes (${now.children.split(' ').slice(0, 5).join(', ')})`);
    if (now.timers.length > 0) problems.push(`left timers armed: ${now.timers.join(', ')}`);
    return problems.length === 0 ? undefined : `the call ${problems.join('; ')}`;
  }

  /**
   * What the call changed that only matters to a later call that sees it (signal handling,
   * limits, descriptors, directory, umask, environment, memory): checked after the answer left,
   * before the worker starts anything else. Why this worker must not serve another call, or undefined.
   */
  checkState(): string | undefined {
    const now = this.now;
    const before = this.baseline;
    this.reader.read(now);
    const problems: string[] = [];
    if (!now.sameSignals(before)) {
      problems.push('changed signal handling (pending, blocked, ignored or caught signals)');
    }
    if (!now.rlimits.equals(this.expectRlimits())) {
      WATCHED_RLIMITS.forEach((resource, index) => {
        const expected = rlimitOf(this.expectedRlimits, index);
        const actual = rlimitOf(now.rlimits, index);
        if (actual.cur !== expected.cur || actual.max !== expected.max) {
          problems.push(`changed ${rlimitName(resource)} to ${limitText(actual)} (was ${limitText(expected)})`);
        }
      });
    }
    if (!now.stdio.equals(before.stdio)) {
      for (let fd = 0; fd < 3; fd += 1) {
        if (!sameStdio(now.stdio, before.stdio, fd)) problems.push(stdioClosed(now.stdio, fd) ? `closed fd ${fd}` : `replaced fd ${fd}`);
      }
    }
    if (now.lowestFreeFd !== before.lowestFreeFd) now.lowestFreeFd = this.reader.settledLowestFreeFd(before.lowestFreeFd);
    if (now.lowestFreeFd !== before.lowestFreeFd) {
      problems.push(
        now.lowestFreeFd < 0
          ? 'left no file descriptor free'
          : now.lowestFreeFd > before.lowestFreeFd
            ? `left file descriptors open (the lowest free one is now ${now.lowestFreeFd}, it was ${before.lowestFreeFd})`
            : `closed descriptor ${now.lowestFreeFd}, which was the worker's`,
      );
    }
    if (!now.sameCwd(before)) problems.push(`changed the working directory to ${JSON.stringify(now.cwdText())}`);
    if (now.umask !== before.umask) problems.push(`changed the umask to ${now.umask.toString(8).padStart(3, '0')}`);
    if (now.environAddress !== before.environAddress || !now.environEntries.equals(before.environEntries)) {
      problems.push(`changed the environment (${environmentChange()})`);
    }
    const { maxRssBytes } = this.options;
    if (maxRssBytes !== undefined && now.rssBytes > maxRssBytes) {
      problems.push(`grew the worker to ${mib(now.rssBytes)} resident, over maxWorkerRssBytes (${mib(maxRssBytes)})`);
    }
    const budget = this.limits.callBudget;
    if (budget !== undefined) {
      const grown = readDataBytes() - budget.baseBytes;
      if (grown > Math.max(budget.memoryBytes * LEAK_SHARE, LEAK_MIN_BYTES)) {
        problems.push(`left ${mib(grown)} of memory allocated (memoryBytes ${mib(budget.memoryBytes)})`);
      }
    }
    return problems.length === 0 ? undefined : `the call ${problems.join('; ')}`;
  }

  /** The baseline's limits with those the limit applier has in force in their place. */
  private expectRlimits(): Buffer {
    const expected = this.expectedRlimits;
    this.baseline.rlimits.copy(expected);
    for (let index = 0; index < WATCHED_RLIMITS.length; index += 1) {
      const managed = this.limits.expected(WATCHED_RLIMITS[index] as number);
      if (managed === undefined) continue;
      expected.writeBigUInt64LE(managed.cur, index * RLIMIT_BYTES);
      expected.writeBigUInt64LE(managed.max, index * RLIMIT_BYTES + 8);
    }
    return expected;
  }
}

function limitText(limit: { cur: bigint; max: bigint }): string {
  const show = (value: bigint) => (value === 0xffffffffffffffffn ? 'unlimited' : String(value));
  return `${show(limit.cur)}/${show(limit.max)}`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** The variables of the C environment now, by name, for the message (the baseline holds only addresses). */
function environmentChange(): string {
  const names = Object.keys(process.env).filter((name) => !name.startsWith('AIRLOCK_') && name !== 'TMPDIR');
  return names.length === 0 ? 'a variable was removed' : `it now holds ${names.slice(0, 5).join(', ')}`;
}
