import type { LimitKind, Limits } from '@airlock/protocol';
import { readCpuMs, readDataBytes, readDataLimit, readDescendants, readPrivateBytes, readResidentBytes, readTaskName, readTasks } from './proc-reader.js';

/** Share of a memory budget, counted back from the limit, within which a worker is "at its limit". */
const MEMORY_PRESSURE_SHARE = 0.2;
/** …but never a window narrower than this (the worker's own watcher uses the same rule). */
const MEMORY_PRESSURE_MIN_WINDOW = 4 * 1024 * 1024;
/**
 * Resident memory a call may add past its budget before the host kills it: what the host's own
 * watch allows (shared mappings, children, a soft limit raised past RLIMIT_DATA) on top of the
 * budget RLIMIT_DATA enforces exactly for private memory.
 */
const RESIDENT_SLACK_SHARE = 0.5;
const RESIDENT_SLACK_MIN = 16 * 1024 * 1024;
/** Name of the worker's memory-watcher thread, which is the worker's, not the plugin's. */
const WATCHER_THREAD = 'airlock-watch';

/**
 * Watches one running call from the host, for the limits the worker cannot enforce on itself:
 * CPU time (precisely, where RLIMIT_CPU counts whole seconds), processes and threads (for root,
 * RLIMIT_NPROC does not bind), and memory pressure (so that a plugin that ignores malloc's NULL
 * and segfaults is reported as over its memory limit; the worker's own watcher thread is the
 * finer witness, this is the second one). Samples /proc every `intervalMs`.
 *
 * Processes are counted as what the call added: threads of the worker and descendants that
 * were not there when the call began (the worker's own helpers are not the plugin's).
 */
export class CallWatch {
  /** The worker's memory was seen near its limit during the call. */
  memoryPressure = false;
  /** The most processes and threads the call was seen to have started. */
  peakProcesses = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly cpuStart: number;
  /** CPU the descendants present at the start had used then (theirs is not the call's). */
  private readonly descendantCpuStart = new Map<number, number>();
  private readonly residentStart: number;
  private readonly tasksAtStart: ReadonlySet<string>;
  private readonly descendantsAtStart: ReadonlySet<number>;
  private dataThreshold: number | undefined;
  private stopped = false;

  constructor(
    private readonly pid: number,
    private readonly limits: Limits,
    intervalMs: number,
    private readonly onExceeded: (limit: LimitKind, detail: string) => void,
  ) {
    const watched = limits.cpuMs !== undefined || limits.maxProcesses !== undefined || limits.memoryBytes !== undefined;
    this.cpuStart = limits.cpuMs !== undefined ? (readCpuMs(pid) ?? 0) : 0;
    this.tasksAtStart = new Set(limits.maxProcesses !== undefined ? readTasks(pid) : []);
    const watchesTree = limits.maxProcesses !== undefined || limits.cpuMs !== undefined || limits.memoryBytes !== undefined;
    this.descendantsAtStart = new Set(watchesTree ? readDescendants(pid, 1024) : []);
    if (limits.cpuMs !== undefined) for (const child of this.descendantsAtStart) this.descendantCpuStart.set(child, readCpuMs(child) ?? 0);
    this.residentStart = limits.memoryBytes !== undefined ? (readResidentBytes(pid) ?? 0) : 0;
    if (watched) {
      this.timer = setInterval(() => this.sample(), intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** One more look, e.g. right before deciding how a call ended. */
  sample(): void {
    const { cpuMs, maxProcesses, memoryBytes } = this.limits;
    const descendants = cpuMs !== undefined || memoryBytes !== undefined ? readDescendants(this.pid, 4096) : [];
    if (cpuMs !== undefined) {
      // The worker's own CPU, that of the children it reaped, and that of its live descendants.
      let used = (readCpuMs(this.pid) ?? this.cpuStart) - this.cpuStart;
      for (const child of descendants) used += (readCpuMs(child) ?? 0) - (this.descendantCpuStart.get(child) ?? 0);
      if (used > cpuMs) return this.exceeded('cpu', `${Math.round(used)} ms of CPU used, the limit is ${cpuMs} ms`);
    }
    if (memoryBytes !== undefined) {
      if (!this.memoryPressure) this.sampleMemory(memoryBytes);
      // What RLIMIT_DATA does not see: shared mappings, memory of child processes, a soft limit
      // raised past the budget. The kernel's count of resident pages is the host's own evidence.
      let added = (readResidentBytes(this.pid) ?? this.residentStart) - this.residentStart;
      for (const child of descendants) if (!this.descendantsAtStart.has(child)) added += readPrivateBytes(child) ?? 0;
      const allowed = memoryBytes + Math.max(memoryBytes * RESIDENT_SLACK_SHARE, RESIDENT_SLACK_MIN);
      if (added > allowed) {
        this.memoryPressure = true;
        return this.exceeded('memory', `${Math.round(added / 1048576)} MiB resident added, the limit is ${Math.round(memoryBytes / 1048576)} MiB`);
      }
    }
    if (maxProcesses !== undefined) {
      const started = this.countStarted(maxProcesses);
      if (started > this.peakProcesses) this.peakProcesses = started;
      if (started > maxProcesses) {
        return this.exceeded('processes', `${started} processes and threads started, the limit is ${maxProcesses}`);
      }
    }
  }

  private sampleMemory(memoryBytes: number): void {
    if (this.dataThreshold === undefined) {
      // The worker sets RLIMIT_DATA (its footprint + the budget) once the call reaches it.
      // Unlimited until the worker sets the call's limit (a worker locked by an earlier call
      // starts the call with that limit in force already).
      const limit = readDataLimit(this.pid);
      if (limit === undefined) return;
      this.dataThreshold = limit - Math.max(memoryBytes * MEMORY_PRESSURE_SHARE, Math.min(memoryBytes / 2, MEMORY_PRESSURE_MIN_WINDOW));
    }
    const data = readDataBytes(this.pid);
    if (data !== undefined && data >= this.dataThreshold) this.memoryPressure = true;
  }

  /** Threads and processes the call added to the worker's tree. */
  private countStarted(maxProcesses: number): number {
    let started = 0;
    // The watcher thread can only be new in a call with a memory limit (it starts with the first).
    let watcherSeen = this.limits.memoryBytes === undefined;
    for (const tid of readTasks(this.pid)) {
      if (this.tasksAtStart.has(tid)) continue;
      if (!watcherSeen && readTaskName(this.pid, tid) === WATCHER_THREAD) {
        watcherSeen = true;
        continue;
      }
      started += 1;
    }
    for (const child of readDescendants(this.pid, maxProcesses + 64 + this.descendantsAtStart.size)) {
      if (!this.descendantsAtStart.has(child)) started += Math.max(1, readTasks(child).length);
    }
    return started;
  }

  private exceeded(limit: LimitKind, detail: string): void {
    if (this.stopped) return;
    this.stop();
    this.onExceeded(limit, detail);
  }
}
