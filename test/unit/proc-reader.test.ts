// The host's /proc readers against what the kernel says, including a process whose name has
// spaces and parentheses in it (the stat line's fields start after the last ')').
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStartTime, readTicksSinceBoot } from '../../packages/host/src/worker/proc-reader.js';

/** Field 22 of /proc/PID/stat, parsed the plain way. */
function startTimeOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-proc-reader-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readStartTime', () => {
  it('reads the start time of this process and of pid 1 as the kernel gives it', () => {
    expect(readStartTime(process.pid)).toBe(startTimeOf(process.pid));
    expect(readStartTime(1)).toBe(startTimeOf(1));
  });

  it('reads it past a command name with spaces and parentheses', async () => {
    const program = join(dir, 'a) b (c');
    copyFileSync('/bin/sleep', program);
    const child = spawn(program, ['5'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(readFileSync(`/proc/${child.pid}/stat`, 'latin1')).toContain('(a) b (c)');
      expect(readStartTime(child.pid!)).toBe(startTimeOf(child.pid!));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is undefined for a process that does not exist', () => {
    expect(readStartTime(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('readTicksSinceBoot', () => {
  it('is never earlier than a process started before it, nor later than one started after', async () => {
    const before = readTicksSinceBoot();
    const child = spawn('/bin/sleep', ['5'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      expect(before).toBeGreaterThanOrEqual(startTimeOf(process.pid));
      expect(before).toBeLessThanOrEqual(startTimeOf(child.pid!));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
