import type { WorkerLimits } from '@airlock/protocol';
import { RLIMIT, getrlimit, setrlimit } from '../native/libc.js';
import { readDataBytes, readHighestFd } from './self-status.js';

/**
 * Applies the worker-side limits of each call (RLIMIT_DATA for memory, RLIMIT_NOFILE for
 * files, RLIMIT_CPU as a backstop for the host's CPU watch). Limits are budgets on top of the
 * worker's own footprint, measured again only when something that grows it (a new library)
 * happened; a syscall is made only when a limit actually changes, so the common call
 * (same limits as the last one) costs nothing.
 */
export class LimitApplier {
  private readonly original = {
    data: getrlimit(RLIMIT.DATA),
    nofile: getrlimit(RLIMIT.NOFILE),
    cpu: getrlimit(RLIMIT.CPU),
  };
  private dataBase = -1;
  private fdBase = -1;
  private current = { data: -1n, nofile: -1n, cpu: -1n };
  /** The memory limit (absolute VmData bytes) in force, or 0 for none. */
  dataLimit = 0;

  /** Forget the measured footprint (call after loading a library). */
  footprintChanged(): void {
    this.dataBase = -1;
    this.fdBase = -1;
  }

  apply(limits: WorkerLimits): void {
    if (limits.memoryBytes !== undefined) {
      if (this.dataBase < 0) this.dataBase = readDataBytes();
      this.dataLimit = this.dataBase + limits.memoryBytes;
      this.set('data', RLIMIT.DATA, BigInt(this.dataLimit), this.original.data.max);
    } else {
      this.dataLimit = 0;
      this.set('data', RLIMIT.DATA, this.original.data.cur, this.original.data.max);
    }
    if (limits.maxOpenFiles !== undefined) {
      if (this.fdBase < 0) this.fdBase = readHighestFd() + 1;
      const soft = BigInt(this.fdBase + limits.maxOpenFiles);
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
  }

  private set(key: keyof LimitApplier['current'], resource: number, cur: bigint, max: bigint): void {
    if (this.current[key] === cur) return;
    setrlimit(resource, cur, max);
    this.current[key] = cur;
  }
}
