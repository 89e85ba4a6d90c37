// Sessions take options as the host does: checked (a bad or unknown one names itself), a signal
// on their calls, paths relative to the host's cwd, and the host's closeGraceMs.
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { closeHosts, failure, trackedHost } from './containment-helpers.js';

afterEach(closeHosts);

const HOSTILE = () => fixture('hostile');
const SLEEP = 'int sleep_ms(int)';

describe('session options', () => {
  it('are checked like the host options: a wrong type or an unknown key is INVALID_ARGUMENT naming it', async () => {
    const host = trackedHost();
    const wrongType = await failure(host.session({ limits: { timeoutMs: '5s' as unknown as number } }));
    expect(wrongType.code).toBe('INVALID_ARGUMENT');
    expect(wrongType.message).toMatch(/^Invalid session options: limits\.timeoutMs: .*\(got "5s"\)$/);
    const unknownKey = await failure(host.session({ timeout: 5 } as never));
    expect(unknownKey.message).toMatch(/^Invalid session options: .*"timeout"/);
    expect(host.workerPids).toEqual([]);
    await using session = await host.session({ limits: { timeoutMs: 150 } });
    expect(await failure(session.call(HOSTILE(), SLEEP, [2000]))).toMatchObject({ code: 'TIMEOUT' });
    const badCall = await failure(session.call(HOSTILE(), SLEEP, [1], { timeout: 5 } as never));
    expect(badCall.message).toMatch(/^Invalid session call options: .*"timeout"/);
  });

  it('take a signal on their calls: a waiting call is cancelled at once, a running one ends the session', async () => {
    const host = trackedHost();
    await using session = await host.session();
    const early = new AbortController();
    early.abort();
    expect(await failure(session.call(HOSTILE(), SLEEP, [1], { signal: early.signal }))).toMatchObject({ code: 'CANCELLED' });
    expect(await session.call(HOSTILE(), SLEEP, [1])).toBe(1);
    const controller = new AbortController();
    const running = session.call(HOSTILE(), SLEEP, [5000], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    expect(await failure(running)).toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(3000);
    // Its worker held the session's state: the session says so from now on.
    expect(await failure(session.noop())).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it("close with the host's closeGraceMs: a call still running is ended after that grace, not the default 2 s", async () => {
    const host = trackedHost({ closeGraceMs: 100 });
    const session = await host.session();
    expect(await session.call(HOSTILE(), SLEEP, [1])).toBe(1);
    const running = session.call(HOSTILE(), SLEEP, [10_000]).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await session.close();
    expect(Date.now() - started).toBeLessThan(1500);
    // Ended by its host's close: CANCELLED, as a host's own close settles a running call.
    expect(await running).toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/^The host was closed while/) });
  });

  it("resolve relative library and resource paths against the host's cwd", async () => {
    const host = trackedHost({ cwd: dirname(HOSTILE()) });
    await using session = await host.session();
    expect(await session.call('./libhostile.so', SLEEP, [3])).toBe(3);
    const resource = await session.registerResource('./libvaccel_ops.so');
    expect(resource.files).toEqual([fixture('vaccel_ops')]);
    expect(await session.execWithResource(resource, 'mytestfunc', { read: [{ int32: 4 }], write: [{ int32: null }] })).toEqual({ status: 0, write: [8] });
  });
});
