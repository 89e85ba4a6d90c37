import type { LimitKind, Limits } from '@airlock/protocol';
import { readCpuMs, readDataBytes, readDescendants, readTasks } from './proc-reader.js';

/** How close to its memory limit a worker must have been seen to blame the limit for its death. */
const MEMORY_PRESSURE_SHARE = 0.8;

/**
 * Watches one running call from the host, for the limits the worker cannot enforce on itself:
 * CPU time (precisely, where RLIMIT_CPU counts whole seconds), processes and threads (for root,
 * RLIMIT_NPROC does not bind), and memory pressure (so that a plugin that ignores malloc's NULL
 * and segfaults is reported as over its memory limit). Samples /proc every `intervalMs`.
 */
export class CallWatch {
  /** The worker's memory was seen near its limit during the call. */
  memoryPressure = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly cpuStart: number;
  private readonly threadBase: number;

  constructor(
    private readonly pid: number,
    private readonly limits: Limits,
    private readonly dataBase: number,
    intervalMs: number,
    private readonly onExceeded: (limit: LimitKind, detail: string) => void,
  ) {
    const watched = limits.cpuMs !== undefined || limits.maxProcesses !== undefined || limits.memoryBytes !== undefined;
    this.cpuStart = limits.cpuMs !== undefined ? (readCpuMs(pid) ?? 0) : 0;
    this.threadBase = limits.maxProcesses !== undefined ? readTasks(pid).length : 0;
    if (watched) {
      this.timer = setInterval(() => this.sample(), intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One more look, e.g. right before deciding how a dead worker died. */
  sample(): void {
    const { cpuMs, maxProcesses, memoryBytes } = this.limits;
    if (cpuMs !== undefined) {
      const used = (readCpuMs(this.pid) ?? this.cpuStart) - this.cpuStart;
      if (used > cpuMs) return this.exceeded('cpu', `${Math.round(used)} ms of CPU used, the limit is ${cpuMs} ms`);
    }
    if (memoryBytes !== undefined && !this.memoryPressure) {
      const data = readDataBytes(this.pid);
      if (data !== undefined && data - this.dataBase >= memoryBytes * MEMORY_PRESSURE_SHARE) this.memoryPressure = true;
    }
    if (maxProcesses !== undefined) {
      const descendants = readDescendants(this.pid, maxProcesses + 64);
      let started = Math.max(0, readTasks(this.pid).length - this.threadBase);
      for (const child of descendants) started += Math.max(1, readTasks(child).length);
      if (started > maxProcesses) {
        return this.exceeded('processes', `${started} processes and threads started, the limit is ${maxProcesses}`);
      }
    }
  }

  private exceeded(limit: LimitKind, detail: string): void {
    this.stop();
    this.onExceeded(limit, detail);
  }
}
