#!/usr/bin/env node
// npm run bench: airlock's per-call cost and throughput as ratios against baselines measured
// in the same run on the same machine (a hand-written pipe round trip; an in-process call).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHost } from '@airlock/host';

const lib = fileURLToPath(new URL('../test/fixtures/build/libtypes.so', import.meta.url));
const PROTO = 'int add(int a, int b)';
const N = Number(process.env.BENCH_CALLS ?? 5000);

async function rawPipe() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./raw-pipe-child.mjs', import.meta.url)), lib], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { id, result } = JSON.parse(line);
    waiting.get(id)(result);
    waiting.delete(id);
  });
  let next = 0;
  const call = (a, b) => new Promise((resolve) => {
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
  for (let i = 0; i < N; i++) await call(i, 1);
  return Number(process.hrtime.bigint() - start) / 1e3 / N; // µs per call
}

async function timeParallel(call, inFlight = 64) {
  const start = process.hrtime.bigint();
  let issued = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (issued < N) { issued++; await call(issued, 1); }
  }));
  return N / (Number(process.hrtime.bigint() - start) / 1e9); // calls per second
}

async function airlock(workers) {
  const host = createHost({ workers });
  const call = (a, b) => host.call(lib, PROTO, [a, b]);
  const seq = await timeSequential(call);
  const par = await timeParallel(call);
  const rss = process.memoryUsage().rss;
  await host.close();
  return { seq, par, rss };
}

const raw = await rawPipe();
const one = await airlock(1);
const two = await airlock(2);
const fmt = (x) => x.toFixed(1);
console.log(`baseline raw pipe:      ${fmt(raw.seq)} µs/call sequential, ${Math.round(raw.par)} calls/s with 64 in flight`);
console.log(`airlock, 1 worker:      ${fmt(one.seq)} µs/call sequential, ${Math.round(one.par)} calls/s with 64 in flight`);
console.log(`airlock, 2 workers:     ${fmt(two.seq)} µs/call sequential, ${Math.round(two.par)} calls/s with 64 in flight`);
console.log(`ratio sequential latency (airlock / raw pipe): ${(one.seq / raw.seq).toFixed(2)}x`);
console.log(`ratio throughput 2 workers (airlock / raw pipe): ${(two.par / raw.par).toFixed(2)}x`);
console.log(`host RSS after ${N * 4} calls: ${(one.rss / 2 ** 20).toFixed(0)} MiB`);
