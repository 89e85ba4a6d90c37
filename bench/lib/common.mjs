// What every figure shares: the fixtures it calls, the scale of a run, progress on stderr,
// and the two timing loops (one caller at a time; many callers in flight).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const fixture = (name) => fileURLToPath(new URL(`../../test/fixtures/build/${name}`, import.meta.url));
export const TYPES_LIB = fixture('libtypes.so');
export const HOSTILE_LIB = fixture('libhostile.so');
export const BENCH_LIB = fixture('libbench.so');
export const ADD = 'int add(int a, int b)';

/** Calls per sequential measurement; every other count scales with it (default 5000). */
export const CALLS = Number(process.env.BENCH_CALLS ?? 5000);
if (!Number.isInteger(CALLS) || CALLS < 100) throw new Error(`BENCH_CALLS must be an integer ≥ 100, got ${process.env.BENCH_CALLS}`);
export const SCALE = CALLS / 5000;
export const IN_FLIGHT = 64;

/** A progress line on stderr, so stdout keeps only the results. */
export function progress(what) {
  process.stderr.write(`bench: ${what}…\n`);
}

export const now = () => performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Checks a call's result; a benchmark of wrong answers measures nothing. */
export function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

/** Shortest measurement: a fast subject runs more calls than asked, so that a hiccup of the machine does not decide it. */
export const MIN_MEASURE_MS = 400;

/** µs per call of `call(a, b)` (an add), one caller awaiting each call before the next. */
export async function timeSequential(call, calls = CALLS) {
  let done = 0;
  const start = now();
  while (done < calls || now() - start < MIN_MEASURE_MS) {
    expectEqual(await call(done, 1), done + 1, 'add');
    done++;
  }
  return ((now() - start) * 1e3) / done;
}

/** Calls per second of `call(a, b)` with `inFlight` callers, each awaiting its call before its next. */
export async function timeInFlight(call, calls, inFlight = IN_FLIGHT) {
  let issued = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < calls || now() - start < MIN_MEASURE_MS) {
        const i = issued++;
        expectEqual(await call(i, 1), i + 1, 'add');
      }
    }),
  );
  return issued / ((now() - start) / 1e3);
}

/** Resident memory of a process in MiB. */
export function rssMiB(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** The fields of an error worth keeping in a report. */
export function errorRecord(error) {
  return { code: error?.code ?? null, message: String(error?.message ?? error) };
}
