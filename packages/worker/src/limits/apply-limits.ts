import type { WorkerLimits } from '@airlock/protocol';
import { RLIMIT, getrlimit, setrlimit } from '../native/libc.js';
import { MemoryWatch } from './memory-watch.js';
import { readDataBytes, readOpenFds } from './self-status.js';

/** Share of a memory budget, counted back from the limit, within which the watcher reports pressure. */
const PRESSURE_SHARE = 0.2;
/** …but never a window narrower than this (small budgets are crossed in a few page faults). */
const PRESSURE_MIN_WINDOW = 4 * 1024 * 1024;

/**
 * Applies the worker-side limits of one call (RLIMIT_DATA for memory, RLIMIT_NOFILE for files,
 * RLIMIT_CPU as a backstop for the host's CPU watch) right before the plugin runs, and lifts them
 * again as soon as the call is over (the next turn of the event loop: native calls are
 * synchronous), so that a tight limit never breaks the worker's own work between calls (loading
 * the next library, answering the host). Limits are budgets on top of the worker's own
 * footprint, measured again after anything that grows it (a new library). A syscall is made
 * only when a limit actually changes. Calls with a memory limit are also watched by a thread
 * (MemoryWatch) that leaves evidence for the host when the worker dies at its limit.
 */
export class LimitApplier {
  private readonly original = {
    data: getrlimit(RLIMIT.DATA),
    nofile: getrlimit(RLIMIT.NOFILE),
    cpu: getrlimit(RLIMIT.CPU),
  };
  private dataBase = -1;
  private current = { data: this.original.data.cur, nofile: this.original.nofile.cur, cpu: this.original.cpu.cur };
  private memoryWatch: MemoryWatch | undefined | null = null;
  private releaseScheduled = false;
  /** The memory limit (absolute VmData bytes) in force, or 0 for none. */
  dataLimit = 0;
  /** The running call's memory budget and the footprint it counts from, while one applies. */
  callBudget: { baseBytes: number; memoryBytes: number } | undefined;
  /** Called when the worker's own state changed (a watcher thread started): see Hygiene.rebase. */
  onWorkerChanged: () => void = () => undefined;

  /** The limit this applier has in force for `resource`, if it manages that resource. */
  expected(resource: number): { cur: bigint; max: bigint } | undefined {
    if (resource === RLIMIT.DATA) return { cur: this.current.data, max: this.original.data.max };
    if (resource === RLIMIT.NOFILE) return { cur: this.current.nofile, max: this.original.nofile.max };
    if (resource === RLIMIT.CPU) return { cur: this.current.cpu, max: this.original.cpu.max };
    return undefined;
  }

  /** Forget the measured footprint (call after loading a library). */
  footprintChanged(): void {
    this.dataBase = -1;
  }

  /** Applies one call's limits; they are lifted when control returns to the event loop. */
  apply(limits: WorkerLimits): void {
    if (limits.memoryBytes !== undefined) {
      if (this.memoryWatch === null) {
        // First memory-limited call: the thread joins the worker's own footprint.
        this.memoryWatch = MemoryWatch.start(process.env.TMPDIR);
        this.dataBase = -1;
        this.onWorkerChanged();
      }
      if (this.dataBase < 0) this.dataBase = readDataBytes();
      this.dataLimit = this.dataBase + limits.memoryBytes;
      this.callBudget = { baseBytes: this.dataBase, memoryBytes: limits.memoryBytes };
      this.set('data', RLIMIT.DATA, BigInt(this.dataLimit), this.original.data.max);
      const window = Math.max(limits.memoryBytes * PRESSURE_SHARE, Math.min(limits.memoryBytes / 2, PRESSURE_MIN_WINDOW));
      this.memoryWatch?.arm(this.dataLimit - window, this.dataLimit);
    } else {
      this.dataLimit = 0;
      this.callBudget = undefined;
      this.memoryWatch?.disarm();
      this.set('data', RLIMIT.DATA, this.original.data.cur, this.original.data.max);
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
    if (!this.releaseScheduled && (limits.memoryBytes !== undefined || limits.maxOpenFiles !== undefined || limits.cpuMs !== undefined)) {
      this.releaseScheduled = true;
      setImmediate(() => this.release());
    }
  }

  /** Lifts every limit (the call is over). */
  release(): void {
    this.releaseScheduled = false;
    this.dataLimit = 0;
    this.callBudget = undefined;
    this.memoryWatch?.disarm();
    this.set('data', RLIMIT.DATA, this.original.data.cur, this.original.data.max);
    this.set('nofile', RLIMIT.NOFILE, this.original.nofile.cur, this.original.nofile.max);
    this.set('cpu', RLIMIT.CPU, this.original.cpu.cur, this.original.cpu.max);
  }

  private set(key: keyof LimitApplier['current'], resource: number, cur: bigint, max: bigint): void {
    if (this.current[key] === cur) return;
    setrlimit(resource, cur, max);
    this.current[key] = cur;
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
