// The memory watcher's thread (see memory-watch.ts). It runs beside the main thread, which is
// blocked inside native code during a call, and polls /proc/self/statm while a call with a
// memory limit is armed. When the process's private writable memory comes within reach of
// RLIMIT_DATA it records that in the evidence file, which the host reads if the worker dies:
// a plugin that ignores malloc's NULL and segfaults is then reported as over its memory limit.
//
// The loop allocates nothing (a preallocated buffer, digits parsed and printed by hand): it must
// keep working while the process is at its memory limit, and it must never wait for a garbage
// collection. The worker runs with V8's --single-threaded (worker-launch.ts): a collection or a
// compile job of this isolate would otherwise be handed to V8's platform threads, and this
// thread would wait for them; on a busy machine that wait outlasts a malloc bomb.
import { openSync, readSync, writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { SLOT, type WatchThreadData } from './memory-watch-layout.js';

const { shared, evidencePath, pageSize, pollMicros } = workerData as WatchThreadData;
const control = new Int32Array(shared, 0, SLOT.COUNT);
const thresholds = new Float64Array(shared, SLOT.COUNT * 4);

const statm = openSync('/proc/self/statm', 'r');
const evidence = openSync(evidencePath, 'w', 0o600);
const buffer = Buffer.alloc(256);
const record = Buffer.alloc(128);
const sleepMs = pollMicros / 1000;

/** Pages of private writable memory (statm's 6th field: data + stack). */
function dataPages(): number {
  const length = readSync(statm, buffer, 0, buffer.length, 0);
  let field = 0;
  let value = 0;
  for (let i = 0; i < length; i += 1) {
    const c = buffer[i]!;
    if (c === 32) {
      if (field === 5) return value;
      field += 1;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
    }
  }
  return field === 5 ? value : 0;
}

/** Writes ASCII text into `target` at `at`; returns the new end (no string is built). */
function putText(target: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i += 1) target[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** Writes a non-negative integer's decimal digits into `target` at `at`; returns the new end. */
function putDigits(target: Buffer, at: number, value: number): number {
  let n = Math.max(0, Math.floor(value));
  let width = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) width += 1;
  for (let i = width - 1; i >= 0; i -= 1) {
    target[at + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + width;
}

Atomics.store(control, SLOT.READY, 1);
Atomics.notify(control, SLOT.READY);

for (;;) {
  const generation = Atomics.load(control, SLOT.ARMED);
  if (generation === 0) {
    Atomics.wait(control, SLOT.ARMED, 0);
    continue;
  }
  const bytes = dataPages() * pageSize;
  if (bytes >= thresholds[0]! && Atomics.load(control, SLOT.ARMED) === generation) {
    // "memory <bytes seen> <limit>\n" in one write at offset 0; the main thread empties the file
    // before it arms the next call (DIRTY), so what the host finds belongs to the current call.
    let length = putText(record, 0, 'memory ');
    length = putDigits(record, length, bytes);
    length = putText(record, length, ' ');
    length = putDigits(record, length, thresholds[1]!);
    record[length++] = 10;
    writeSync(evidence, record, 0, length, 0);
    Atomics.store(control, SLOT.DIRTY, 1);
    // Reported once for this call: sleep until it ends.
    Atomics.wait(control, SLOT.ARMED, generation);
    continue;
  }
  Atomics.wait(control, SLOT.SLEEP, 0, sleepMs);
}
