// A host process ends however its app ends it, and leaves nothing: no worker, no temp dir, no
// session rundir. Each test runs a real host in a child process with a TMPDIR of its own, ends
// it one way, and then looks at the process table and at that TMPDIR.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, fixture, isAlive } from '../helpers/fixtures.js';
import { HOSTILE, cleanUp, liveProcesses, scratchDirectory } from './containment-helpers.js';

afterEach(cleanUp);

const HOST_ENTRY = JSON.stringify(join(ROOT, 'packages/host/dist/index.js'));

/** Live processes whose environment says they belong to a host in process `hostPid`. */
function processesOfHost(hostPid: number): number[] {
  const marker = `AIRLOCK_HOST_PID=${hostPid}\0`;
  return liveProcesses((environ) => environ.includes(marker));
}

interface HostRun {
  child: ChildProcess;
  tmp: string;
  /** Resolves with each line the script prints. */
  line(): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Runs `body` (a module's top level, with `createHost`, `lib` and `say(text)` in scope) as a host process. */
function runHost(body: string): HostRun {
  const dir = scratchDirectory();
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const script = join(dir, 'host.mjs');
  writeFileSync(
    script,
    [
      `import { createHost } from ${HOST_ENTRY};`,
      `const lib = ${JSON.stringify(HOSTILE())};`,
      `const say = (text) => process.stdout.write(text + '\\n');`,
      body,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    for (let newline = partial.indexOf('\n'); newline >= 0; newline = partial.indexOf('\n')) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  void exited.then(() => clearTimeout(killer));
  return {
    child,
    tmp,
    exited,
    stderr: () => stderr,
    line: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise<string>((resolve, reject) => {
            waiting.push(resolve);
            void exited.then(() => reject(new Error(`the host exited before printing a line; stderr: ${stderr.slice(-2000)}`)));
          }),
  };
}

/** Once the host process has ended: no process of its workers lives and its TMPDIR is empty. */
async function expectNothingLeftOf(run: HostRun): Promise<void> {
  await run.exited;
  const pid = run.child.pid!;
  await expect.poll(() => processesOfHost(pid), { timeout: 5_000 }).toEqual([]);
  await expect.poll(() => readdirSync(run.tmp), { timeout: 5_000 }).toEqual([]);
}

describe('a host process exits by itself when its work is done', () => {
  it('without close(): an idle worker does not hold the event loop, and it goes with the process', async () => {
    const run = runHost(`
      const host = createHost({ workers: 2 });
      say(String(await host.call(lib, 'int print_and_return(int)', [7])));
      say(host.workerPids.join(','));
    `);
    expect(await run.line()).toBe('7');
    const workers = (await run.line()).split(',').map(Number);
    expect(workers).toHaveLength(1);
    expect((await run.exited).code, run.stderr()).toBe(0);
    // Killed (SIGKILL) as the host exits; the kernel takes a moment to tear a busy machine's process down.
    await expect.poll(() => workers.filter(isAlive), { timeout: 2_000 }).toEqual([]);
    await expectNothingLeftOf(run);
  });

  it('after close(), nothing airlock made keeps the event loop alive (no timer, no child, no pipe)', async () => {
    const run = runHost(`
      const host = createHost({ workers: 2, eager: true });
      await Promise.all([host.call(lib, 'int sleep_ms(int)', [50]), host.call(lib, 'int crash_segv(void)').catch((e) => e.code)]);
      const session = await host.session();
      await session.noop();
      await host.close();
      // Handles of exited children close on the loop's next turn.
      for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      say(JSON.stringify(process.getActiveResourcesInfo()));
    `);
    const resources = JSON.parse(await run.line()) as string[];
    // What is left is this script's own stdout.
    expect(resources.filter((resource) => !/^(TTYWrap|PipeWrap|FSReqCallback|SimpleShutdownWrap)$/.test(resource))).toEqual([]);
    expect((await run.exited).code, run.stderr()).toBe(0);
    await expectNothingLeftOf(run);
  });

  it('a pending call holds the process until it settles, even while its worker starts', async () => {
    const run = runHost(`
      const host = createHost();
      host.call(lib, 'int sleep_ms(int)', [300]).then((value) => say('settled ' + value));
    `);
    expect(await run.line()).toBe('settled 300');
    expect((await run.exited).code, run.stderr()).toBe(0);
    await expectNothingLeftOf(run);
  });
});

describe('nothing is left on disk or in the process table, however the host ends', () => {
  /**
   * A host whose two pool workers are busy (a call that forked children and sleeps, a command
   * that started another in the background), and a session holding a resource copied into its rundir.
   */
  const BUSY_HOST = `
    const host = createHost({ workers: 2 });
    await Promise.all([host.call(lib, 'int sleep_ms(int)', [100]), host.call(lib, 'int sleep_ms(int)', [100])]);
    const session = await host.session();
    await session.registerResource(${JSON.stringify(fixture('vaccel_ops'))});
    host.call(${JSON.stringify(fixture('blast'))}, 'int fork_then_sleep(int, int *pids, size_t count)', [2, 0], { timeoutMs: 60000 }).catch(() => undefined);
    host.exec({ driver: 'sh', run: 'sleep 60 & sleep 60', timeoutMs: 60000 }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    say('ready ' + readdirSync(process.env.TMPDIR).length);
  `;
  const withFs = (body: string) => `import { readdirSync } from 'node:fs';\n${body}`;

  it.each([
    ['close()', 'await host.close(); say("closed");', { code: 0, signal: null }],
    ['process.exit()', 'process.exit(3);', { code: 3, signal: null }],
    ['an uncaught exception', 'setTimeout(() => { throw new Error("boom"); });', { code: 1, signal: null }],
  ])('%s', async (_how, ending, expected) => {
    const run = runHost(withFs(`${BUSY_HOST}\n${ending}`));
    const ready = await run.line();
    // three workers' temp dirs (two pool workers, the session's) and the session's rundir
    expect(ready).toBe('ready 4');
    expect(await run.exited).toEqual(expected);
    await expectNothingLeftOf(run);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGKILL'] as const)('%s from outside', async (signal) => {
    const run = runHost(withFs(BUSY_HOST));
    expect(await run.line()).toBe('ready 4');
    run.child.kill(signal);
    expect((await run.exited).signal).toBe(signal);
    await expectNothingLeftOf(run);
  });

  it('SIGKILL while workers are starting, at several moments', async () => {
    for (const delayMs of [0, 2, 10, 30, 80]) {
      const run = runHost(withFs(`
        const host = createHost({ workers: 2, eager: true });
        const session = host.session();
        host.call(lib, 'int sleep_ms(int)', [10]);
        say('starting');
        await session;
      `));
      expect(await run.line()).toBe('starting');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      run.child.kill('SIGKILL');
      await expectNothingLeftOf(run);
    }
  });

  it('SIGKILL just after a worker crashed (while its replacement starts)', async () => {
    const run = runHost(`
      const host = createHost();
      await host.call(lib, 'int spawn_children(int)', [1]);
      const code = await host.call(lib, 'int crash_segv(void)').catch((error) => error.code);
      say(code);
      process.kill(process.pid, 'SIGKILL');
    `);
    expect(await run.line()).toBe('CRASHED');
    expect((await run.exited).signal).toBe('SIGKILL');
    await expectNothingLeftOf(run);
  });
});

describe("an app's callbacks cannot break the host", () => {
  it('an onLog that throws is reported once as a warning; calls go on and succeed', async () => {
    const run = runHost(`
      let warnings = [];
      process.on('warning', (warning) => warnings.push(warning.code));
      process.on('uncaughtException', (error) => { say('uncaught ' + error.message); process.exit(9); });
      const host = createHost({ workers: 2, onLog: () => { throw new Error('the app is broken'); } });
      const results = [];
      for (let i = 0; i < 3; i += 1) results.push(await host.call(lib, 'int print_and_return(int)', [i]));
      await host.call(lib, 'int crash_segv(void)').catch(() => undefined);
      results.push(await host.call(lib, 'int print_and_return(int)', [3]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      say(JSON.stringify({ results, warnings }));
      await host.close();
    `);
    const outcome = JSON.parse(await run.line()) as { results: number[]; warnings: string[] };
    expect(outcome).toEqual({ results: [0, 1, 2, 3], warnings: ['AIRLOCK_CALLBACK_ERROR'] });
    expect(run.stderr()).toMatch(/the onLog callback threw \(the app is broken\)/);
    expect((await run.exited).code).toBe(0);
    await expectNothingLeftOf(run);
  });

  it('an async onLog that rejects is contained the same way', async () => {
    const run = runHost(`
      const warnings = [];
      process.on('warning', (warning) => warnings.push(warning.code));
      const host = createHost({ onLog: async () => { throw new Error('later'); } });
      const value = await host.call(lib, 'int print_and_return(int)', [5]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      say(JSON.stringify({ value, warnings }));
      await host.close();
    `);
    expect(JSON.parse(await run.line())).toEqual({ value: 5, warnings: ['AIRLOCK_CALLBACK_ERROR'] });
    expect((await run.exited).code).toBe(0);
    await expectNothingLeftOf(run);
  });
});

describe('eager start', () => {
  it('eager: true followed at once by calls starts exactly `workers` processes', async () => {
    const run = runHost(`
      const host = createHost({ workers: 2, eager: true });
      const seen = new Set();
      const calls = [];
      for (let i = 0; i < 6; i += 1) calls.push(host.call(lib, 'int sleep_ms(int)', [30]).then(() => host.workerPids.forEach((pid) => seen.add(pid))));
      await Promise.all(calls);
      say(String(seen.size));
      await host.close();
    `);
    expect(await run.line()).toBe('2');
    await expectNothingLeftOf(run);
  });
});
