#!/usr/bin/env node
// npm run bench: airlock's per-call cost, throughput and memory, each as a ratio against a
// baseline measured in the same run on the same machine, so that a noisy machine moves both:
//   - latency and throughput against a hand-written newline-JSON pipe round trip to a child
//     that calls the same function with koffi (no isolation, no validation, no limits);
//   - memory as the growth of host and worker RSS over many calls (a leak shows as growth).
// Targets are printed with each ratio; nothing here is asserted by the test suite.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHost } from '@airlock/host';

const lib = fileURLToPath(new URL('../test/fixtures/build/libtypes.so', import.meta.url));
const PROTO = 'int add(int a, int b)';
const N = Number(process.env.BENCH_CALLS ?? 5000);
const TARGETS = { latencyRatio: 4, throughputRatio: 0.02, rssGrowthMiB: 32 };

async function rawPipe() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./raw-pipe-child.mjs', import.meta.url)), lib], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { id, result } = JSON.parse(line);
    waiting.get(id)(result);
    waiting.delete(id);
  });
  let next = 0;
  const call = (a, b) =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ id, args: [a, b] })}\n`);
    });
  const seq = await timeSequential(call);
  const par = await timeParallel(call);
  child.kill();
  return { seq, par };
}

async function timeSequential(call) {
  for (let i = 0; i < 500; i++) await call(i, 1);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) if ((await call(i, 1)) !== i + 1) throw new Error('wrong result');
  return Number(process.hrtime.bigint() - start) / 1e3 / N; // µs per call
}

async function timeParallel(call, inFlight = 64) {
  const start = process.hrtime.bigint();
  let issued = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < N) {
        issued++;
        await call(issued, 1);
      }
    }),
  );
  return N / (Number(process.hrtime.bigint() - start) / 1e9); // calls per second
}

function rssMiB(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match ? Number(match[1]) / 1024 : NaN;
}

async function airlock(workers, pipeline = 1) {
  const host = createHost({ workers, pipeline });
  const call = (a, b) => host.call(lib, PROTO, [a, b]);
  const seq = await timeSequential(call);
  const par = await timeParallel(call);
  await host.close();
  return { seq, par };
}

async function memory() {
  const host = createHost({ workers: 1 });
  for (let i = 0; i < 2000; i++) await host.call(lib, PROTO, [i, 1]);
  const worker = host.workerPids[0];
  const before = { host: rssMiB(process.pid), worker: rssMiB(worker) };
  for (let i = 0; i < N * 4; i++) await host.call(lib, 'char *str_upper(const char *s)', ['memory']);
  globalThis.gc?.();
  const after = { host: rssMiB(process.pid), worker: rssMiB(worker) };
  await host.close();
  return { before, after };
}

const raw = await rawPipe();
const one = await airlock(1);
const two = await airlock(2);
const piped = await airlock(2, 16);
const mem = await memory();
const fmt = (x) => x.toFixed(1);
const verdict = (ok) => (ok ? 'ok' : 'OVER TARGET');
const latencyRatio = one.seq / raw.seq;
const throughputRatio = Math.max(two.par, piped.par) / raw.par;
const growth = Math.max(mem.after.host - mem.before.host, mem.after.worker - mem.before.worker);
console.log(`baseline raw pipe:   ${fmt(raw.seq)} µs/call sequential, ${Math.round(raw.par)} calls/s with 64 in flight`);
console.log(`airlock, 1 worker:   ${fmt(one.seq)} µs/call sequential, ${Math.round(one.par)} calls/s with 64 in flight`);
console.log(`airlock, 2 workers:  ${fmt(two.seq)} µs/call sequential, ${Math.round(two.par)} calls/s with 64 in flight`);
console.log(`airlock, 2 workers, pipeline 16: ${Math.round(piped.par)} calls/s with 64 in flight`);
console.log(`latency ratio (airlock 1 worker / raw pipe):        ${latencyRatio.toFixed(2)}x  target ≤ ${TARGETS.latencyRatio}x  ${verdict(latencyRatio <= TARGETS.latencyRatio)}`);
console.log(`throughput ratio (airlock best of 2 workers / raw): ${throughputRatio.toFixed(3)}x target ≥ ${TARGETS.throughputRatio}x  ${verdict(throughputRatio >= TARGETS.throughputRatio)}`);
console.log(`RSS over ${N * 4} string calls: host ${fmt(mem.before.host)} → ${fmt(mem.after.host)} MiB, worker ${fmt(mem.before.worker)} → ${fmt(mem.after.worker)} MiB  target growth ≤ ${TARGETS.rssGrowthMiB} MiB  ${verdict(growth <= TARGETS.rssGrowthMiB)}`);
