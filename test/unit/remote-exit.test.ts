import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { REMOTE_MEMORY_LINE, REMOTE_SIGNAL_LINE, remoteSignalLine, reportedMemoryPressure, reportedSignal } from '@airlock/protocol';

const signalNumber = (name: string) => (constants.signals as Record<string, number>)[name];

describe('the signal a worker behind a transport reports', () => {
  it('is taken when the last line names it and the exit status is 128 + its number', () => {
    expect(remoteSignalLine('SIGSEGV')).toBe(`${REMOTE_SIGNAL_LINE}SIGSEGV`);
    expect(reportedSignal(139, remoteSignalLine('SIGSEGV'), signalNumber)).toBe('SIGSEGV');
    expect(reportedSignal(134, remoteSignalLine('SIGABRT'), signalNumber)).toBe('SIGABRT');
    expect(reportedSignal(137, `${remoteSignalLine('SIGKILL')}\r`, signalNumber)).toBe('SIGKILL');
  });

  it('is not taken when the status disagrees, the line is not last, or the name is not a signal', () => {
    // ssh's own failure (255) with a line a plugin printed: the status stands.
    expect(reportedSignal(255, remoteSignalLine('SIGSEGV'), signalNumber)).toBeUndefined();
    expect(reportedSignal(134, remoteSignalLine('SIGSEGV'), signalNumber)).toBeUndefined();
    expect(reportedSignal(139, undefined, signalNumber)).toBeUndefined();
    expect(reportedSignal(139, 'segmentation fault', signalNumber)).toBeUndefined();
    expect(reportedSignal(null, remoteSignalLine('SIGSEGV'), signalNumber)).toBeUndefined();
    expect(reportedSignal(1, remoteSignalLine('SIGHUP'), signalNumber)).toBeUndefined();
    expect(reportedSignal(139, remoteSignalLine('SIGNOPE'), signalNumber)).toBeUndefined();
    expect(reportedSignal(139, remoteSignalLine('sigsegv; rm -rf /'), signalNumber)).toBeUndefined();
  });
});

describe('the memory pressure a worker behind a transport reports', () => {
  it('is taken only from the line right before the signal line', () => {
    expect(reportedMemoryPressure(['out', REMOTE_MEMORY_LINE, remoteSignalLine('SIGSEGV')])).toBe(true);
    expect(reportedMemoryPressure([REMOTE_MEMORY_LINE, 'later output', remoteSignalLine('SIGSEGV')])).toBe(false);
    expect(reportedMemoryPressure([REMOTE_MEMORY_LINE])).toBe(false);
    expect(reportedMemoryPressure([remoteSignalLine('SIGSEGV')])).toBe(false);
  });
});
