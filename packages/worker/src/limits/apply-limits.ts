import type { WorkerLimits } from '@airlock/protocol';
import { RLIMIT, getrlimit, mallocTrim, setrlimit } from '../native/libc.js';
import { MemoryWatch } from './memory-watch.js';
import { WorkerFailure } from '../failure.js';
import { readAddressSpaceBytes, readDataBytes, readOpenFds } from './self-status.js';

/** Share of a memory budget, counted back from the limit, within which the watcher reports pressure. */
const PRESSURE_SHARE = 0.2;
/** …but never a window narrower than this (small budgets are crossed in a few page faults). */
const PRESSURE_MIN_WINDOW = 4 * 1024 * 1024;

/**
 * Room between a call's memory limit (the soft limit, where malloc starts to fail) and the hard
 * limit a plugin cannot raise it past: what the worker's own heap may need between calls when
 * the hard limit cannot be lifted again (V8 commits its heap in large chunks). A plugin that
 * raises its soft limit into this room is caught by the host's memory watch (resident memory)
 * and its worker retires after the call (its limits changed).
 */
export function memoryHeadroom(budget: number): number {
  return Math.max(budget, 64 * 1024 * 1024);
}

/** A limit as the kernel holds it. */
interface Rlimit {
  cur: bigint;
  max: bigint;
}

/**
 * Applies the worker-side limits of one call right before the plugin runs, and lifts them again
 * as soon as the call is over (the next turn of the event loop: native calls are synchronous),
 * so that a tight limit never breaks the worker's own work between calls. Limits are budgets on
 * top of the worker's own footprint, measured again after anything that grows it (a new library).
 * A syscall is made only when a limit actually changes.
 *
 * - Memory: RLIMIT_DATA's soft limit is the budget (malloc fails past it) and its hard limit,
 *   which the plugin cannot raise, the budget plus memoryHeadroom(). RLIMIT_AS (soft) also counts
 *   the shared and other mappings RLIMIT_DATA leaves out. The host watches resident memory too.
 *   Raising a hard limit again needs CAP_SYS_RESOURCE; without it the worker keeps the lowered
 *   hard limit, serves later calls whose budget fits under it, and refuses (as never started, so
 *   the host runs them on a fresh worker) calls that need more, or no limit at all.
 * - Files (RLIMIT_NOFILE) and CPU (RLIMIT_CPU, a backstop for the host's precise CPU watch) set
 *   the soft limit only. A plugin that raises them changes its worker's limits, and the worker's
 *   hygiene check retires it after the call.
 *
 * Calls with a memory limit are also watched by a thread (MemoryWatch) that leaves evidence for
 * the host when the worker dies at its limit.
 */
export class LimitApplier {
  private readonly original = {
    data: getrlimit(RLIMIT.DATA),
    as: getrlimit(RLIMIT.AS),
    nofile: getrlimit(RLIMIT.NOFILE),
    cpu: getrlimit(RLIMIT.CPU),
  };
  private dataBase = -1;
  private readonly current: Record<'data' | 'as' | 'nofile' | 'cpu', Rlimit> = {
    data: { ...this.original.data },
    as: { ...this.original.as },
    nofile: { ...this.original.nofile },
    cpu: { ...this.original.cpu },
  };
  private memoryWatch: MemoryWatch | undefined | null = null;
  private releaseScheduled = false;
  /** Limits applied last that set nothing: applying them again changes nothing. */
  private unlimited: WorkerLimits | undefined;
  /** The memory limit (absolute VmData bytes) in force, or 0 for none. */
  dataLimit = 0;
  /** The memory budget of the last call and the footprint it counted from (until the next call). */
  callBudget: { baseBytes: number; memoryBytes: number } | undefined;
  /** Called when the worker's own state changed (a watcher thread started): see Hygiene.rebase. */
  onWorkerChanged: () => void = () => undefined;

  /** The limit this applier has in force for `resource`, if it manages that resource. */
  expected(resource: number): Rlimit | undefined {
    if (resource === RLIMIT.DATA) return this.current.data;
    if (resource === RLIMIT.AS) return this.current.as;
    if (resource === RLIMIT.NOFILE) return this.current.nofile;
    if (resource === RLIMIT.CPU) return this.current.cpu;
    return undefined;
  }

  /**
   * Starts the memory watcher's thread (once): at the first memory-limited call, or at the
   * worker's start when its host says its calls have a memory limit. The thread joins the
   * worker's own footprint and threads.
   */
  startMemoryWatch(): void {
    if (this.memoryWatch !== null) return;
    this.memoryWatch = MemoryWatch.start(process.env.TMPDIR);
    this.dataBase = -1;
    this.onWorkerChanged();
  }

  /** Forget the measured footprint (call after loading a library). */
  footprintChanged(): void {
    this.dataBase = -1;
  }

  /**
   * Applies one call's limits; they are lifted when control returns to the event loop. Throws a
   * WorkerFailure marked `notStarted` when this worker's locked memory limit cannot give the call
   * what it asks.
   */
  apply(limits: WorkerLimits): void {
    // The hot path: the limits of the call before (the same run), none of them set, nothing lifted since.
    if (limits === this.unlimited) return;
    this.unlimited = undefined;
    if (limits.memoryBytes !== undefined) {
      this.startMemoryWatch();
      if (this.dataBase < 0) {
        // Free memory malloc kept from earlier calls would be the plugin's on top of its budget.
        mallocTrim(0);
        this.dataBase = readDataBytes();
      }
      const budget = limits.memoryBytes;
      this.dataLimit = this.dataBase + budget;
      this.bind(BigInt(this.dataLimit), BigInt(this.dataLimit + memoryHeadroom(budget)));
      // Soft only: V8 reserves address space as it goes, and a worker locked at a tight
      // RLIMIT_AS would abort in its own work between calls.
      const addressSpace = BigInt(readAddressSpaceBytes() + budget + memoryHeadroom(budget));
      this.set('as', RLIMIT.AS, addressSpace < this.original.as.max ? addressSpace : this.original.as.max, this.original.as.max);
      this.callBudget = { baseBytes: this.dataBase, memoryBytes: budget };
      const window = Math.max(budget * PRESSURE_SHARE, Math.min(budget / 2, PRESSURE_MIN_WINDOW));
      this.memoryWatch?.arm(this.dataLimit - window, this.dataLimit);
    } else {
      if (this.locked) {
        throw new WorkerFailure(
          'UNAVAILABLE',
          `This worker's memory limit is locked at ${this.current.data.max} bytes by an earlier call (raising it again needs CAP_SYS_RESOURCE); a call without memoryBytes needs a fresh worker`,
          { details: { notStarted: true } },
        );
      }
      this.dataLimit = 0;
      this.callBudget = undefined;
      this.memoryWatch?.disarm();
      this.set('data', RLIMIT.DATA, this.original.data.cur, this.original.data.max);
      this.set('as', RLIMIT.AS, this.original.as.cur, this.original.as.max);
    }
    if (limits.maxOpenFiles !== undefined) {
      // Lift any earlier limit first: listing the open descriptors takes one itself.
      this.set('nofile', RLIMIT.NOFILE, this.original.nofile.cur, this.original.nofile.max);
      const soft = BigInt(fdLimitFor(limits.maxOpenFiles));
      this.set('nofile', RLIMIT.NOFILE, soft < this.original.nofile.max ? soft : this.original.nofile.max, this.original.nofile.max);
    } else {
      this.set('nofile', RLIMIT.NOFILE, this.original.nofile.cur, this.original.nofile.max);
    }
    if (limits.cpuMs !== undefined) {
      const usage = process.cpuUsage();
      const usedSeconds = (usage.user + usage.system) / 1e6;
      // RLIMIT_CPU counts whole seconds: the host's watch is the precise limit, this one only
      // catches a worker whose host cannot watch it.
      this.set('cpu', RLIMIT.CPU, BigInt(Math.ceil(usedSeconds + limits.cpuMs / 1000) + 1), this.original.cpu.max);
    } else {
      this.set('cpu', RLIMIT.CPU, this.original.cpu.cur, this.original.cpu.max);
    }
    const limited = limits.memoryBytes !== undefined || limits.maxOpenFiles !== undefined || limits.cpuMs !== undefined;
    this.unlimited = limited ? undefined : limits;
    if (!this.releaseScheduled && limited) {
      this.releaseScheduled = true;
      setImmediate(() => this.release());
    }
  }

  /** Whether an earlier call's memory limit could not be lifted (hard limits only go down without privilege). */
  get locked(): boolean {
    return this.current.data.max !== this.original.data.max;
  }

  /** Lifts every limit (the call is over); a hard limit that cannot be raised again stays. */
  release(): void {
    this.releaseScheduled = false;
    this.unlimited = undefined;
    this.dataLimit = 0;
    this.memoryWatch?.disarm();
    this.restore('data', RLIMIT.DATA);
    this.set('as', RLIMIT.AS, this.original.as.cur, this.original.as.max);
    this.set('nofile', RLIMIT.NOFILE, this.original.nofile.cur, this.original.nofile.max);
    this.set('cpu', RLIMIT.CPU, this.original.cpu.cur, this.original.cpu.max);
  }

  /**
   * Sets RLIMIT_DATA to `soft` with a hard limit of `hard`, which the plugin cannot raise. When an
   * earlier call left the hard limit lower than `soft` (it could not be lifted again), the call is
   * refused as never started. A hard limit already between the two is kept (lowering it more
   * would only lock the worker tighter).
   */
  private bind(soft: bigint, hard: bigint): void {
    const max = this.current.data.max;
    if (soft > max) {
      throw new WorkerFailure(
        'UNAVAILABLE',
        `This worker's RLIMIT_DATA is locked at ${max} bytes by an earlier call (lifting it needs CAP_SYS_RESOURCE), below the ${soft} this call needs; it needs a fresh worker`,
        { details: { notStarted: true } },
      );
    }
    this.set('data', RLIMIT.DATA, soft, hard < max ? hard : max);
  }

  /** Puts a limit back as the worker found it, or as close as the kernel allows. */
  private restore(key: 'data', resource: number): void {
    const original = this.original[key];
    try {
      this.set(key, resource, original.cur, original.max);
    } catch {
      // No CAP_SYS_RESOURCE: the hard limit stays where the call put it; the soft limit goes up
      // to it, which leaves the worker its headroom between calls.
      const current = this.current[key];
      this.set(key, resource, current.max, current.max);
    }
  }

  private set(key: keyof LimitApplier['current'], resource: number, cur: bigint, max: bigint): void {
    const current = this.current[key];
    if (current.cur === cur && current.max === max) return;
    setrlimit(resource, cur, max);
    this.current[key] = { cur, max };
  }
}

/**
 * The RLIMIT_NOFILE soft limit that leaves exactly `budget` descriptors free: the kernel hands
 * out the lowest free number and refuses numbers at or above the limit, so the limit goes right
 * after the budget-th free number.
 */
function fdLimitFor(budget: number): number {
  const open = readOpenFds();
  let free = 0;
  for (let fd = 0; ; fd += 1) {
    if (open.has(fd)) continue;
    free += 1;
    if (free >= budget) return fd + 1;
  }
}
