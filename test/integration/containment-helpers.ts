// Shared by the containment-*.test.ts files: hosts that are closed and checked after each test,
// a plugin-run runner that knows the CLI's pid, and the "nothing left behind" checks.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { AirlockError, createHost, type Host, type HostOptions } from '@airlock/host';
import { CLI, ROOT, eventually, fixture, isAlive } from '../helpers/fixtures.js';

/** The hostile fixture library (one function per way a plugin can fail). */
export { failure } from '../helpers/fixtures.js';
export const HOSTILE = () => fixture('hostile');
/** The misbehaving fake workers. */
export const FAKE_WORKERS = join(ROOT, 'test/fixtures/fake-workers');

/** The temp-dir prefix of every worker a host in process `pid` starts (WorkerProcess.tempDir). */
export function workerPrefix(pid: number): string {
  return join(tmpdir(), `airlock-worker-${pid}-`);
}

/** Temp dirs of workers of hosts in process `pid` that still exist. */
export function tempDirsOf(pid: number): string[] {
  const base = `airlock-worker-${pid}-`;
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith(base))
    .map((name) => join(tmpdir(), name));
}

/**
 * Live processes that belong to workers of hosts in process `pid`: every worker, whatever it
 * forked (same environment) and its reaper carry the worker's TMPDIR, which names the host's
 * pid. Zombies (already dead, waiting to be reaped) do not count.
 */
export function processesOf(pid: number): number[] {
  const marker = `TMPDIR=${workerPrefix(pid)}`;
  return liveProcesses((environ, cmdline) => environ.includes(marker) || cmdline.includes(workerPrefix(pid)));
}

/** Live processes (zombies left out) whose environment and command line pass `match`. */
export function liveProcesses(match: (environ: string, cmdline: string) => boolean): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (match(readFileSync(`/proc/${name}/environ`, 'latin1'), readFileSync(`/proc/${name}/cmdline`, 'latin1'))) found.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/** Asserts that nothing of the workers of process `pid` is left: no process, no temp dir. */
export async function expectNothingLeft(pid = process.pid, timeoutMs = 5000): Promise<void> {
  await eventually(() => processesOf(pid).length === 0 && tempDirsOf(pid).length === 0, timeoutMs, 50);
  expect(processesOf(pid), 'worker processes left behind').toEqual([]);
  expect(tempDirsOf(pid), 'worker temp dirs left behind').toEqual([]);
}

const hosts: Host[] = [];

/** A host that `closeHosts()` closes after the test. */
export function trackedHost(options: HostOptions = {}): Host {
  const host = createHost(options);
  hosts.push(host);
  return host;
}

/** Closes every tracked host (bounded) and checks nothing is left; for afterEach. */
export async function closeHosts(): Promise<void> {
  const closing = hosts.splice(0).map((host) => host.close());
  const settled = await settleWithin(Promise.all(closing), 15_000);
  expect(settled.settled, 'host.close() settles').toBe(true);
  await expectNothingLeft();
}

/** Waits for a promise at most `ms`; says whether it settled and how long it took. */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ settled: boolean; ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    timeout,
  ]);
  clearTimeout(timer);
  const elapsed = performance.now() - start;
  if (outcome === 'timeout') return { settled: false, ms: elapsed };
  return { settled: true, ms: elapsed, ...outcome };
}

/** What one plugin-run took and said; `json` is its parsed stdout with --json. */
export interface CliRun {
  pid: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  json?: { ok: boolean; result?: unknown; error?: Record<string, unknown> & { code: string } };
}

/** Runs plugin-run (Node 22+, the one running the tests); kills it after `timeoutMs`. */
export function pluginRunAsync(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 4 << 20) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const run: CliRun = { pid: child.pid!, status, signal, stdout, stderr, ms: performance.now() - start };
      if (args.includes('--json')) {
        try {
          run.json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as CliRun['json'];
        } catch {
          /* left undefined: the assertion on it says so */
        }
      }
      resolve(run);
    });
  });
}

/** Runs plugin-run and asserts it left no worker, process or temp dir behind. */
export async function cli(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  const run = await pluginRunAsync(args, timeoutMs);
  expect(run.signal, `plugin-run ${args.join(' ')} was killed: ${run.stderr.slice(-2000)}`).toBe(null);
  await expectNothingLeft(run.pid);
  return run;
}

/** A scratch directory removed by the returned function. */
export function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-containment-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const scratch: Array<() => void> = [];

/** A scratch directory that `cleanUp()` removes after the test. */
export function scratchDirectory(): string {
  const { dir, remove } = scratchDir();
  scratch.push(remove);
  return dir;
}

/** For afterEach: closes the tracked hosts, checks nothing is left, removes scratch directories. */
export async function cleanUp(): Promise<void> {
  try {
    await closeHosts();
  } finally {
    for (const remove of scratch.splice(0)) remove();
  }
}

/**
 * Makes one call on a host whose worker breaks the protocol: it must settle within seconds as
 * PROTOCOL_ERROR with `message`, and the worker must be gone. Returns the error.
 */
export async function expectProtocolError(host: Host, message: RegExp): Promise<{ code: string; message: string; workerPid: number }> {
  const run = await settleWithin(host.call('libm.so.6', 'double cos(double)', [0]), 10_000);
  expect(run.settled).toBe(true);
  const error = run.error as { code: string; message: string; workerPid: number };
  expect(error.code).toBe('PROTOCOL_ERROR');
  expect(error.message).toMatch(message);
  await expect.poll(() => isAlive(error.workerPid), { timeout: 5_000 }).toBe(false);
  return error;
}

/**
 * Writes a fake worker script into `dir` (it may import the fake workers' framing kit as
 * `FRAME`) and returns host options that run it.
 */
export function fakeWorker(dir: string, name: string, source: string): { command: string; args: string[] } {
  const path = join(dir, name);
  writeFileSync(path, source.replaceAll('FRAME', JSON.stringify(join(FAKE_WORKERS, 'frame.mjs'))));
  return { command: process.execPath, args: [path] };
}
