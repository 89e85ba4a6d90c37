// The worker's hygiene check read in this test process (no plugin): each kind of change a call
// can leave behind is made for real, named in the reason, and the state is clean again once it
// is undone (the check compares preallocated buffers; leftovers of a longer value must not count).
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Hygiene } from '../../packages/worker/dist/hygiene/hygiene.js';
import { getrlimit, setrlimit } from '../../packages/worker/dist/native/libc.js';
import type { LimitApplier } from '../../packages/worker/dist/limits/apply-limits.js';

/** A limit applier that manages no limit (every watched limit is expected as the baseline had it). */
const noLimits = { expected: () => undefined, callBudget: undefined } as unknown as LimitApplier;
const RLIMIT_FSIZE = 1;

describe('hygiene state check', () => {
  const undo: Array<() => void> = [];
  afterEach(() => {
    for (const step of undo.splice(0).reverse()) step();
  });

  it('finds nothing in a process nothing changed, read after read', () => {
    const hygiene = new Hygiene(noLimits);
    expect(hygiene.checkState()).toBeUndefined();
    expect(hygiene.checkState()).toBeUndefined();
    expect(hygiene.checkLive()).toBeUndefined();
  });

  it('names a changed working directory, and is clean once it is back (a longer path read before must not linger)', () => {
    const hygiene = new Hygiene(noLimits);
    const home = process.cwd();
    undo.push(() => process.chdir(home));
    process.chdir(tmpdir());
    expect(hygiene.checkState()).toBe(`the call changed the working directory to ${JSON.stringify(process.cwd())}`);
    process.chdir('/');
    expect(hygiene.checkState()).toBe('the call changed the working directory to "/"');
    process.chdir(home);
    expect(hygiene.checkState()).toBeUndefined();
  });

  it('names a changed umask', () => {
    const hygiene = new Hygiene(noLimits);
    const mask = process.umask(0o077);
    undo.push(() => process.umask(mask));
    expect(hygiene.checkState()).toBe('the call changed the umask to 077');
    process.umask(mask);
    expect(hygiene.checkState()).toBeUndefined();
  });

  it('names a descriptor left open, and is clean once it is closed', () => {
    const hygiene = new Hygiene(noLimits);
    const fd = openSync('/dev/null', 'r');
    expect(hygiene.checkState()).toMatch(/^the call left file descriptors open \(the lowest free one is now \d+, it was \d+\)$/);
    closeSync(fd);
    expect(hygiene.checkState()).toBeUndefined();
  });

  it('names a changed resource limit with its old and new values', () => {
    const hygiene = new Hygiene(noLimits);
    const before = getrlimit(RLIMIT_FSIZE);
    undo.push(() => setrlimit(RLIMIT_FSIZE, before.cur, before.max));
    setrlimit(RLIMIT_FSIZE, 1n << 30n, before.max);
    const show = (value: bigint) => (value === 0xffffffffffffffffn ? 'unlimited' : String(value));
    expect(hygiene.checkState()).toBe(`the call changed RLIMIT_FSIZE to ${1 << 30}/${show(before.max)} (was ${show(before.cur)}/${show(before.max)})`);
    setrlimit(RLIMIT_FSIZE, before.cur, before.max);
    expect(hygiene.checkState()).toBeUndefined();
  });

  it('names a caught signal', () => {
    const hygiene = new Hygiene(noLimits);
    const listener = () => undefined;
    undo.push(() => process.off('SIGUSR2', listener));
    process.on('SIGUSR2', listener);
    expect(hygiene.checkState()).toBe('the call changed signal handling (pending, blocked, ignored or caught signals)');
  });

  it('names a changed C environment, and a rebase takes the new one as clean', () => {
    const hygiene = new Hygiene(noLimits);
    undo.push(() => delete process.env.AIRLOCK_HYGIENE_TEST);
    process.env.AIRLOCK_HYGIENE_TEST = 'set';
    expect(hygiene.checkState()).toMatch(/^the call changed the environment \(it now holds /);
    hygiene.rebase();
    expect(hygiene.checkState()).toBeUndefined();
    process.env.AIRLOCK_HYGIENE_TEST = 'changed';
    expect(hygiene.checkState()).toMatch(/^the call changed the environment/);
  });

  it('counts a thread left running as a live leftover', async () => {
    const hygiene = new Hygiene(noLimits);
    const thread = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((resolve) => thread.once('online', resolve));
    expect(hygiene.checkLive()).toMatch(/^the call left \d+ thread\(s\) running$/);
    await thread.terminate();
  });
});
