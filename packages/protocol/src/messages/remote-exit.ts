// How a worker behind a transport (ssh, `docker exec -i`, `kubectl exec -i`) says it died by a
// signal. Those transports report a far-side process killed by a signal only as their own
// failure (ssh: exit status 255, no message), so `airlock-worker --remote` runs the worker as
// its child and, when a signal kills it, writes this line on stderr and exits with 128 + the
// signal's number: the host trusts the line only when the status agrees with it.

/** The start of the line; the signal's name (`SIGSEGV`) follows. */
export const REMOTE_SIGNAL_LINE = 'airlock-worker: the worker was killed by ';

/**
 * The line the far side writes, just before the signal's, when the worker's memory watcher had
 * recorded that the call reached its memory limit (the evidence a local host reads in the
 * worker's temp dir, which is on the far side here).
 */
export const REMOTE_MEMORY_LINE = 'airlock-worker: the worker was at its memory limit';

/** Whether a worker behind a transport, which died by a signal it reported, was at its memory limit: the line before the signal's says so. */
export function reportedMemoryPressure(output: readonly string[]): boolean {
  return output.length >= 2 && output[output.length - 2]!.trim() === REMOTE_MEMORY_LINE && output[output.length - 1]!.startsWith(REMOTE_SIGNAL_LINE);
}

/** The line the far side writes last when the worker exited by itself with a status past 128 (which a signal's 128 + N would look like). */
export function remoteStatusLine(status: number): string {
  return `airlock-worker: the worker exited with status ${status}`;
}

/** The line for `signal`. */
export function remoteSignalLine(signal: string): string {
  return `${REMOTE_SIGNAL_LINE}${signal}`;
}

/**
 * The signal a worker behind a transport reported dying of: its last output line names it, and
 * the transport's exit status is 128 + that signal's number. `signalNumber` maps a name to its
 * number on this machine. Undefined when the two do not agree (or say nothing).
 */
export function reportedSignal(exitCode: number | null, lastLine: string | undefined, signalNumber: (name: string) => number | undefined): string | undefined {
  if (exitCode === null || exitCode <= 128 || lastLine === undefined || !lastLine.startsWith(REMOTE_SIGNAL_LINE)) return undefined;
  const name = lastLine.slice(REMOTE_SIGNAL_LINE.length).trim();
  return /^SIG[A-Z0-9]+$/.test(name) && signalNumber(name) === exitCode - 128 ? name : undefined;
}
