// The things a call can go through, each opened warm and closed after: a hand-written raw
// pipe (the floor), an airlock host, and workerpool's process mode. Each has call(a, b) for add().
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHost } from '@airlock/host';
import workerpool from 'workerpool';
import { ADD, TYPES_LIB } from './common.mjs';

const script = (name) => fileURLToPath(new URL(`../${name}`, import.meta.url));

/** Starts every worker a subject will use and warms its code: bursts of 16 calls, then 200 one at a time. */
async function warm(subject) {
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 16 }, (_, i) => subject.call(i, round)));
  for (let i = 0; i < 200; i++) await subject.call(i, 1);
  return subject;
}

/** A newline-JSON pipe to a Node child calling add() through koffi: no isolation, no checks, no limits. */
export function spawnRawPipe() {
  const child = spawn(process.execPath, [script('raw-pipe-child.mjs'), TYPES_LIB], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { id, result } = JSON.parse(line);
    waiting.get(id)(result);
    waiting.delete(id);
  });
  let next = 0;
  return {
    name: 'raw pipe',
    pid: child.pid,
    call: (a, b) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, args: [a, b] })}\n`);
      }),
    close: async () => {
      child.stdin.end();
      child.kill();
    },
  };
}

export const openRawPipe = () => warm(spawnRawPipe());

/** An airlock host with `options`, calling add() by prototype. */
export function openAirlock(name, options) {
  const host = createHost(options);
  return warm({ name, host, call: (a, b) => host.call(TYPES_LIB, ADD, [a, b]), close: () => host.close() });
}

/** workerpool in process mode: forked Node workers, IPC messages, the worker calls add() through koffi. */
export function openWorkerpool(name, maxWorkers) {
  const pool = workerpool.pool(script('workerpool-worker.mjs'), { workerType: 'process', maxWorkers, forkArgs: [TYPES_LIB] });
  return warm({ name, call: (a, b) => pool.exec('add', [a, b]), close: () => pool.terminate() });
}
