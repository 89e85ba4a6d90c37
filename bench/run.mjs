#!/usr/bin/env node
// npm run bench: what an airlock call costs, each figure next to its floor or baseline measured
// in the same run on the same machine (a noisy machine moves both), with its target and verdict.
// Progress goes to stderr; the table to stdout; everything to reports/bench.json.
// bench/README.md describes every figure. Targets live here only: no test asserts a timing.
// BENCH_CALLS (default 5000) scales every count.
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CALLS, IN_FLIGHT, SCALE, now, progress } from './lib/common.mjs';
import { row, table, writeJson } from './lib/report.mjs';
import { openAirlock, openRawPipe, openWorkerpool } from './lib/subjects.mjs';
import { inProcess } from './figures/in-process.mjs';
import { sequential } from './figures/sequential.mjs';
import { inFlight } from './figures/in-flight.mjs';
import { callMany } from './figures/call-many.mjs';
import { coldStart } from './figures/cold-start.mjs';
import { crashRecovery } from './figures/crash-recovery.mjs';
import { cli } from './figures/cli.mjs';
import { bigBuffers } from './figures/big-buffers.mjs';
import { memory } from './figures/memory.mjs';
import { hygiene } from './figures/hygiene.mjs';
import { sandbox } from './figures/sandbox.mjs';
import { remote } from './figures/remote.mjs';

const REPORT = fileURLToPath(new URL('../reports/bench.json', import.meta.url));
const began = now();
const figures = {};

progress('in-process koffi');
figures.inProcess = await inProcess();
progress('the per-call hygiene check, on its own');
figures.hygiene = await hygiene();

progress('opening the raw pipe, airlock hosts and workerpool pools');
const raw = await openRawPipe();
const airlockDefault = await openAirlock('airlock (default options)', {});
const airlockTwo = await openAirlock('airlock { workers: 2 }', { workers: 2 });
const pool1 = await openWorkerpool('workerpool (maxWorkers 1)', 1);
const pool2 = await openWorkerpool('workerpool (maxWorkers 2)', 2);
try {
  figures.sequential = await sequential([raw, airlockDefault, pool1]);
  figures.inFlight = await inFlight([raw, airlockDefault, airlockTwo, pool1, pool2]);
} finally {
  for (const subject of [raw, airlockDefault, airlockTwo, pool1, pool2]) await subject.close();
}

progress('callMany over 100,000 inputs');
figures.callMany = await callMany();
if (figures.callMany.callsPerSecond === null && figures.callMany.error.message === 'callMany: not available') console.log('callMany: not available');

progress('cold start (5 fresh hosts, 5 raw pipes)');
figures.coldStart = await coldStart();

progress('crash → next call (9 segfaults in a row)');
figures.crash = await crashRecovery({});
progress('crash → next call with { standby: 0 } (no spares)');
figures.crashNoSpare = await crashRecovery({ standby: 0 });

progress('CLI: plugin-run call against node -e 0 (7 each)');
figures.cli = await cli();

progress(`memory (${CALLS * 4} string calls)`);
figures.memory = await memory();

progress('64 MiB round trip (raw pipe echo, then airlock)');
figures.bigBuffers = await bigBuffers();

progress('the sandbox: cold starts (5 each, interleaved), then sequential calls');
figures.sandbox = await sandbox();

progress('workers through ssh to a loopback sshd: cold starts, sequential calls, calls in flight');
figures.remote = await remote();

const f = figures;
const seqRaw = f.sequential['raw pipe'].usPerCall;
const parRaw = f.inFlight['raw pipe'].callsPerSecond;
const parDefault = f.inFlight['airlock (default options)'].callsPerSecond;
const parTwo = f.inFlight['airlock { workers: 2 }'].callsPerSecond;
const parBest = Math.max(parDefault, parTwo);
const bestName = parBest === parDefault ? 'default options' : '{ workers: 2 }';
const wp1 = f.inFlight['workerpool (maxWorkers 1)'].callsPerSecond;
const wp2 = f.inFlight['workerpool (maxWorkers 2)'].callsPerSecond;
const vs = (name, value) => ({ name, value });
const rawSeq = vs('raw pipe', seqRaw);
const rawPar = vs('raw pipe', parRaw);
const big = f.bigBuffers;
const rows = [
  row('inProcess', 'in-process koffi add()', f.inProcess.usPerCall, 'µs/call'),
  row('rawPipeSequential', 'raw pipe, sequential (floor)', seqRaw, 'µs/call', { baseline: vs('in-process', f.inProcess.usPerCall) }),
  row('rawPipeInFlight', 'raw pipe, 64 in flight (floor)', parRaw, 'calls/s'),
  row('airlockSequential', 'airlock sequential, 1 worker', f.sequential['airlock (default options)'].usPerCall, 'µs/call', {
    baseline: rawSeq,
    target: { on: 'ratio', op: '<=', limit: 1.5 },
  }),
  row('hygiene', 'per-call hygiene check (part of 3 and 4)', f.hygiene.usPerCall, 'µs/call', { target: { on: 'value', op: '<=', limit: 10 } }),
  row('airlockInFlightDefault', 'airlock 64 in flight, default options', parDefault, 'calls/s', { baseline: rawPar }),
  row('airlockInFlightWorkers2', 'airlock 64 in flight, { workers: 2 }', parTwo, 'calls/s', { baseline: rawPar }),
  row('airlockInFlightVsRaw', `airlock 64 in flight, best (${bestName}) vs raw`, parBest, 'calls/s', {
    baseline: rawPar,
    target: { on: 'ratio', op: '>=', limit: 1.0 },
  }),
  row('airlockInFlightVsWorkerpool', `airlock 64 in flight, best vs workerpool`, parBest, 'calls/s', {
    baseline: vs('workerpool 1', wp1),
    target: { on: 'ratio', op: '>=', limit: 3 },
  }),
  row('callMany', `callMany, ${f.callMany.inputs.toLocaleString('en-US')} inputs`, f.callMany.callsPerSecond, 'calls/s', {
    baseline: rawPar,
    target: { on: 'value', op: '>=', limit: 1_000_000 },
  }),
  row('workerpoolSequential', 'workerpool process, sequential', f.sequential['workerpool (maxWorkers 1)'].usPerCall, 'µs/call', { baseline: rawSeq }),
  row('workerpoolInFlight1', 'workerpool process, 64 in flight, maxWorkers 1', wp1, 'calls/s', { baseline: rawPar }),
  row('workerpoolInFlight2', 'workerpool process, 64 in flight, maxWorkers 2', wp2, 'calls/s', { baseline: rawPar }),
  row('coldStart', 'cold start: createHost() → first result', f.coldStart.ms, 'ms', { baseline: vs('raw pipe spawn', f.coldStart.rawPipeMs) }),
  row('crashNextCall', "crash → next call, default host (standby 'auto')", f.crash.ms, 'ms', {
    baseline: vs('cold start', f.coldStart.ms),
    target: { on: 'ratio', op: '<=', limit: 0.3 },
  }),
  row('crashNextCallNoSpare', 'crash → next call, { standby: 0 }', f.crashNoSpare.ms, 'ms', { baseline: vs('cold start', f.coldStart.ms) }),
  row('cli', 'CLI: plugin-run call … cos 0', f.cli.ms, 'ms', { baseline: vs('node -e 0', f.cli.nodeMs), target: { on: 'ratio', op: '<=', limit: 5 } }),
  row('rawPipe64MiB', 'raw pipe echo, 64 MiB in + out (floor)', big.rawMibPerSecond, 'MiB/s'),
  row('airlock64MiB', 'airlock bench_copy, 64 MiB in + out', big.mibPerSecond, 'MiB/s', {
    baseline: vs('raw pipe', big.rawMibPerSecond),
    target: { on: 'ratio', op: '>=', limit: 0.8 },
  }),
  ...(big.fallback
    ? [
        row('airlock16MiB', `airlock bench_copy, ${big.fallback.bytes / 2 ** 20} MiB in + out (64 MiB failed)`, big.fallback.mibPerSecond, 'MiB/s', {
          baseline: vs(`raw pipe ${big.fallback.bytes / 2 ** 20} MiB`, big.fallback.rawMibPerSecond),
        }),
      ]
    : []),
  ...(f.sandbox.error
    ? []
    : [
        row('sandboxColdStart', 'sandboxed cold start: createHost({ sandbox: true }) → first result', f.sandbox.coldStartMs, 'ms', {
          baseline: vs('unsandboxed cold start', f.sandbox.plainColdStartMs),
          target: { on: 'ratio', op: '<=', limit: 1.5 },
        }),
        row('sandboxSequential', 'sandboxed sequential, 1 worker', f.sandbox.usPerCall, 'µs/call', {
          baseline: vs('unsandboxed sequential', f.sandbox.plainUsPerCall),
          target: { on: 'ratio', op: '<=', limit: 1.1 },
        }),
      ]),
  ...(f.remote.error
    ? []
    : [
        row('sshColdStart', 'ssh worker cold start: createHost → first result, loopback sshd', f.remote.coldStartMs, 'ms', {
          baseline: vs('local cold start', f.remote.localColdStartMs),
        }),
        row('sshSequential', 'ssh worker sequential, 1 worker', f.remote.usPerCall, 'µs/call', {
          baseline: vs('local sequential', f.remote.localUsPerCall),
          target: { on: 'ratio', op: '<=', limit: 3 },
        }),
        row('sshInFlight', `ssh workers, 2, ${IN_FLIGHT} in flight`, f.remote.callsPerSecond, 'calls/s', {
          baseline: vs('2 local workers', f.remote.localCallsPerSecond),
          target: { on: 'ratio', op: '>=', limit: 0.3 },
        }),
      ]),
  row('memoryHost', `host RSS growth over ${f.memory.calls} calls`, f.memory.growthMiB.host, 'MiB', {
    baseline: vs('RSS before', f.memory.before.host),
    target: { on: 'value', op: '<=', limit: 32 },
  }),
  row('memoryWorker', `worker RSS growth over ${f.memory.calls} calls`, f.memory.growthMiB.worker, 'MiB', {
    baseline: vs('RSS before', f.memory.before.worker),
    target: { on: 'value', op: '<=', limit: 32 },
  }),
];

const notes = [];
if (f.callMany.error) notes.push(f.callMany.error.code ? `callMany: ${f.callMany.error.code}: ${f.callMany.error.message}` : `callMany: ${f.callMany.error.message.replace(/^callMany: /, '')}`);
if (f.sandbox.error) notes.push(`sandbox: ${f.sandbox.error.code ?? 'error'}: ${f.sandbox.error.message}`);
if (f.remote.error) notes.push(`ssh workers: ${f.remote.error.code ?? 'error'}: ${f.remote.error.message}`);
if (f.crashNoSpare.error) notes.push(`standby: 0 refused: ${f.crashNoSpare.error.code}: ${f.crashNoSpare.error.message}`);
for (const attempt of big.attempts) {
  if (attempt.error) notes.push(`64 MiB with ${JSON.stringify(attempt.options)}: ${attempt.error.code ?? 'wrong result'}: ${attempt.error.message}`);
}

const seconds = (now() - began) / 1e3;
console.log(`airlock bench, Node ${process.version}, ${cpus().length} CPUs, BENCH_CALLS=${CALLS}, ${seconds.toFixed(0)} s`);
console.log(table(rows));
for (const note of notes) console.log(`note: ${note}`);
writeJson(REPORT, { date: new Date().toISOString(), node: process.version, cpus: cpus().length, calls: CALLS, scale: SCALE, seconds, rows, notes, figures });
console.log('written: reports/bench.json');
