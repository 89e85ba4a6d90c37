// The host's side of the handshake (what it accepts back from a worker, how it describes a
// worker that never completed it) and the frame size of a run, known before it is sent.
import { describe, expect, it } from 'vitest';
import { AIRLOCK_VERSION, PROTOCOL_VERSION, WireBytes, frameBytes } from '@airlock/protocol';
import { acceptHello, diedBeforeHandshake, helloParams } from '../../packages/host/src/worker/handshake.js';
import { runFrameBytes } from '../../packages/host/src/worker/frame-size.js';
import { StartFailure } from '../../packages/host/src/worker/worker-spawn.js';

const goodHello = {
  protocolVersion: PROTOCOL_VERSION,
  workerVersion: AIRLOCK_VERSION,
  pid: 1234,
  capabilities: ['abi:c'],
  baseline: { dataBytes: 1 << 20, threads: 7 },
};

describe('the handshake', () => {
  it('says the protocol and version, and the resident-memory limit only when one is set', () => {
    expect(helloParams(undefined)).toEqual({ protocolVersion: PROTOCOL_VERSION, hostVersion: AIRLOCK_VERSION });
    expect(helloParams(64 << 20)).toEqual({ protocolVersion: PROTOCOL_VERSION, hostVersion: AIRLOCK_VERSION, maxRssBytes: 64 << 20 });
  });

  it('accepts a well-formed hello of the same protocol', () => {
    expect(acceptHello(goodHello)).toMatchObject({ pid: 1234, protocolVersion: PROTOCOL_VERSION });
  });

  it('refuses a malformed hello, naming the field', () => {
    const error = (() => {
      try {
        acceptHello({ ...goodHello, pid: 'one' });
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StartFailure);
    expect(error!.message).toMatch(/^The worker's handshake is malformed: .*pid/s);
  });

  it('refuses another protocol, naming both protocols and versions', () => {
    expect(() => acceptHello({ ...goodHello, protocolVersion: PROTOCOL_VERSION + 1, workerVersion: '9.9.9' })).toThrow(
      `Protocol mismatch: this host speaks airlock protocol ${PROTOCOL_VERSION} (airlock ${AIRLOCK_VERSION}), the worker speaks protocol ${PROTOCOL_VERSION + 1} (airlock 9.9.9)`,
    );
  });

  it('describes a worker that ended before it: by signal, by status, or killed for breaking the protocol, with its last words but no stack frames', () => {
    const lines = ['Error: cannot load', '    at load (file:///x.js:1:1)', '', 'giving up'];
    expect(diedBeforeHandshake({ signal: 'SIGSEGV', exitCode: null }, undefined, lines).message).toBe(
      'The worker was killed by SIGSEGV before its handshake; it wrote: Error: cannot load | giving up',
    );
    expect(diedBeforeHandshake({ signal: null, exitCode: 3 }, undefined, []).message).toBe('The worker exited with status 3 before its handshake');
    expect(diedBeforeHandshake({ signal: 'SIGKILL', exitCode: null }, { kind: 'protocol', detail: 'a frame of 9 GB' }, []).message).toBe(
      'The worker broke the protocol before its handshake (a frame of 9 GB) and was killed',
    );
  });
});

describe('the frame size of a run', () => {
  it('counts binary parts and strings by their length, before anything is serialized', () => {
    const small = runFrameBytes('libx.so', 'int f(int)', [[1, 2]], 1 << 30);
    const bytes = runFrameBytes('libx.so', 'int f(int)', [[new WireBytes(new Uint8Array(100_000), undefined)]], 1 << 30);
    expect(bytes - small).toBeGreaterThanOrEqual(100_000);
    expect(bytes).toBeGreaterThan(frameBytes([[new WireBytes(new Uint8Array(100_000), undefined)]]));
  });

  it('is exact once it nears the frame limit', () => {
    const envelope = runFrameBytes('', '', [], 1 << 30);
    const args = [['x'.repeat(600)]];
    expect(runFrameBytes('', '', args, 1000)).toBe(frameBytes(args) + envelope);
  });
});
