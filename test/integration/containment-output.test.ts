// Containment, plugin output: captured per call, bounded, attached to errors, forwarded with its
// stream and worker to the log callback; plugin-run shows it on stderr by --log-level.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { HOSTILE, cli, closeHosts, failure, trackedHost } from './containment-helpers.js';
import type { LogEntry } from '@airlock/host';

afterEach(closeHosts);

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the log callback', () => {
  it('gets every line with its stream and worker', async () => {
    const entries: LogEntry[] = [];
    const host = trackedHost({ onLog: (entry) => entries.push(entry) });
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [3])).toBe(3);
    const pid = host.workerPids[0]!;
    await expect.poll(() => entries.length, { timeout: 2_000 }).toBeGreaterThanOrEqual(2);
    expect(entries).toContainEqual({ stream: 'stdout', line: 'hello from plugin 3', workerPid: pid });
    expect(entries).toContainEqual({ stream: 'stderr', line: 'stderr line 3', workerPid: pid });
  });

  it('gets what a library prints while it loads, and what a crashing plugin wrote last', async () => {
    const entries: LogEntry[] = [];
    const host = trackedHost({ onLog: (entry) => entries.push(entry) });
    expect(await host.call(fixture('ctor_noisy'), 'int noisy_value(void)')).toBe(5);
    const error = await failure(host.call(HOSTILE(), 'int write_then_crash(void)'));
    expect(error.code).toBe('CRASHED');
    const lines = entries.map((e) => `${e.stream}:${e.line}`);
    expect(lines).toContain('stdout:constructor says hi');
    expect(lines).toContain('stderr:last words before crash');
    expect(lines).toContain('stdout:last words before crash');
  });
});

describe('output on errors', () => {
  it('a failed call carries its own last lines, and only its own', async () => {
    const host = trackedHost();
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [1])).toBe(1);
    await later(100);
    const crash = await failure(host.call(HOSTILE(), 'int crash_segv(void)'));
    expect(crash.output).toEqual([]);
    const words = await failure(host.call(HOSTILE(), 'int write_then_crash(void)'));
    expect(words.output).toEqual(['last words before crash', 'last words before crash']);
  });

  it('is bounded: the last 20 lines, each cut at 4 KiB', async () => {
    const host = trackedHost({ limits: { maxOutputBytes: 512 * 1024 } });
    const error = await failure(host.call(HOSTILE(), 'int flood_stdout(int)', [4]));
    expect([error.code, error.limit]).toEqual(['LIMIT_EXCEEDED', 'output']);
    expect(error.output!.length).toBeLessThanOrEqual(20);
    expect(error.output!.length).toBeGreaterThan(0);
    for (const line of error.output!) expect(line.length).toBeLessThanOrEqual(4097);
  });

  it('a timed-out call does not carry the output of the call before it', async () => {
    const host = trackedHost();
    // print_and_return does not flush stdout, but stderr is unbuffered: the plugin's stderr line
    // of the call before must not show up, the timed-out call's own output is empty.
    expect(await host.call(HOSTILE(), 'int print_and_return(int)', [7])).toBe(7);
    const timedOut = await failure(host.call(HOSTILE(), 'int sleep_forever(void)', [], { timeoutMs: 300 }));
    expect(timedOut.code).toBe('TIMEOUT');
    expect(timedOut.output).toEqual([]);
  });
});

describe('plugin-run', () => {
  it('shows plugin output on stderr, tagged by stream; the result alone on stdout', async () => {
    const run = await cli(['call', HOSTILE(), 'int print_and_return(int)', '3']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('3\n');
    expect(run.stderr).toContain('[stdout] hello from plugin 3');
    expect(run.stderr).toContain('[stderr] stderr line 3');
  });

  it('--log-level error hides plugin output; info and debug show it', async () => {
    const quiet = await cli(['call', '--log-level', 'error', HOSTILE(), 'int print_and_return(int)', '4']);
    expect([quiet.status, quiet.stdout, quiet.stderr]).toEqual([0, '4\n', '']);
    for (const level of ['info', 'debug']) {
      const loud = await cli(['call', '--log-level', level, HOSTILE(), 'int print_and_return(int)', '5']);
      expect(loud.stderr).toContain('[stderr] stderr line 5');
    }
  });

  it('--json keeps stdout to the one JSON object; plugin output still goes to stderr', async () => {
    const run = await cli(['call', '--json', HOSTILE(), 'int print_and_return(int)', '6']);
    expect(run.stdout).toBe('{"ok":true,"result":6}\n');
    expect(run.stderr).toContain('[stdout] hello from plugin 6');
  });

  it('a crash shows the plugin’s last words', async () => {
    const run = await cli(['call', HOSTILE(), 'int write_then_crash(void)']);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('[stderr] last words before crash');
    expect(run.stderr).toMatch(/plugin output \(last lines\):\n\s+last words before crash/);
    const json = await cli(['call', '--json', HOSTILE(), 'int write_then_crash(void)']);
    expect(json.json?.error).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV', output: ['last words before crash', 'last words before crash'] });
  });
});
