import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import { MEMORY_EVIDENCE_FILE, SHARED_BYTES, SLOT, type WatchThreadData } from './memory-watch-layout.js';

/** How often the thread polls while armed. */
const POLL_MICROS = 200;
/** Longest wait for the thread to come up; without it calls run unwatched (the host still samples). */
const READY_TIMEOUT_MS = 5000;

const libc = koffi.load('libc.so.6');
const sysconf = libc.func('long sysconf(int name)') as (name: number) => number;
const SC_PAGESIZE = 30;
koffi.struct('airlock_sched_param', { sched_priority: 'int' });
const schedSetScheduler = libc.func('int sched_setscheduler(int pid, int policy, const airlock_sched_param *param)') as (
  pid: number,
  policy: number,
  param: { sched_priority: number },
) => number;
const setPriority = libc.func('int setpriority(int which, unsigned int who, int prio)') as (which: number, who: number, prio: number) => number;
const SCHED_FIFO = 1;
const PRIO_PROCESS = 0;
const THREAD_NAME = 'airlock-watch';

/**
 * The main thread's handle on the memory watcher, a worker thread that polls /proc/self/statm
 * while a call with a memory limit runs (the main thread is inside native code then and cannot
 * look). When the worker's private writable memory comes within reach of RLIMIT_DATA, the thread
 * writes a record into `$TMPDIR/.airlock-memory-pressure`; the host reads it when the worker
 * dies, so a plugin that ignores malloc's NULL and segfaults (or makes V8 abort) is reported as
 * LIMIT_EXCEEDED/memory rather than a plain crash. Started on the first call with a memory
 * limit, or with the worker when its host's calls all have one (the hello's `watchMemory`);
 * idle (blocked in Atomics.wait, no CPU) between calls.
 */
export class MemoryWatch {
  private readonly control: Int32Array;
  private readonly thresholds: Float64Array;
  private readonly evidenceFd: number;
  private generation = 0;

  private constructor(
    private readonly thread: Worker,
    shared: SharedArrayBuffer,
    evidenceFd: number,
  ) {
    this.control = new Int32Array(shared, 0, SLOT.COUNT);
    this.thresholds = new Float64Array(shared, SLOT.COUNT * 4, 2);
    this.evidenceFd = evidenceFd;
  }

  /** Starts the thread and waits until it polls; undefined when it cannot run here. */
  static start(tempDir: string | undefined): MemoryWatch | undefined {
    if (!tempDir) return undefined;
    const evidencePath = join(tempDir, MEMORY_EVIDENCE_FILE);
    let fd: number;
    try {
      fd = openSync(evidencePath, 'w', 0o600);
    } catch {
      return undefined;
    }
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    const data: WatchThreadData = { shared, evidencePath, pageSize: Number(sysconf(SC_PAGESIZE)) || 4096, pollMicros: POLL_MICROS };
    let thread: Worker;
    try {
      // Loaded when first needed, not at the worker's start: most workers never watch memory,
      // and node:worker_threads costs ~2 ms of every start.
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      thread = new Worker(new URL('./memory-watch-thread.js', import.meta.url), {
        workerData: data,
        // The host tells this thread from the plugin's by its name (it is not the plugin's to count).
        name: THREAD_NAME,
        stdout: true,
        stderr: true,
        // A small code range: V8's default reserves ~500 MiB of private address space for a new
        // isolate, which RLIMIT_DATA counts (the worker's footprint would jump by that much).
        resourceLimits: { codeRangeSizeMb: 8, maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2, stackSizeMb: 1 },
      });
    } catch {
      closeSync(fd);
      return undefined;
    }
    thread.on('error', () => undefined);
    thread.unref();
    const watch = new MemoryWatch(thread, shared, fd);
    if (Atomics.wait(watch.control, SLOT.READY, 0, READY_TIMEOUT_MS) === 'timed-out' && Atomics.load(watch.control, SLOT.READY) === 0) {
      void thread.terminate();
      closeSync(fd);
      return undefined;
    }
    prioritize(THREAD_NAME);
    return watch;
  }

  /** Watches the running call: pressure once private writable memory reaches `thresholdBytes`. */
  arm(thresholdBytes: number, limitBytes: number): void {
    if (Atomics.load(this.control, SLOT.DIRTY) !== 0) {
      // Evidence of an earlier call must not be blamed on this one.
      try {
        ftruncateSync(this.evidenceFd, 0);
      } catch {
        /* the host removed the file: nothing to clear */
      }
      Atomics.store(this.control, SLOT.DIRTY, 0);
    }
    this.thresholds[0] = thresholdBytes;
    this.thresholds[1] = limitBytes;
    this.generation = this.generation >= 0x7ffffff0 ? 1 : this.generation + 1;
    Atomics.store(this.control, SLOT.ARMED, this.generation);
    Atomics.notify(this.control, SLOT.ARMED);
  }

  /** Stops watching (the call is over). */
  disarm(): void {
    if (Atomics.load(this.control, SLOT.ARMED) === 0) return;
    Atomics.store(this.control, SLOT.ARMED, 0);
    Atomics.notify(this.control, SLOT.ARMED);
  }

  /** Whether the thread is still there. */
  get threadId(): number {
    return this.thread.threadId;
  }
}

/**
 * Makes the watcher thread run as soon as it wakes, even when the machine is busy: a malloc bomb
 * crosses the last part of its budget in a few milliseconds, and a watcher that waits for a CPU
 * that long misses it. SCHED_FIFO where the worker may (root, CAP_SYS_NICE), else the highest
 * nice value allowed; else as it is. The thread sleeps between its short polls, so it never
 * takes a CPU from anyone for long.
 */
function prioritize(name: string): void {
  let tid: number | undefined;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'latin1').trim() === name) tid = Number(task);
    } catch {
      /* gone */
    }
  }
  if (tid === undefined) return;
  if (schedSetScheduler(tid, SCHED_FIFO, { sched_priority: 1 }) === 0) return;
  setPriority(PRIO_PROCESS, tid, -20);
}
