// Which worker took a call, by the call's AbortSignal. The 'call' event names its worker but
// not its call; the harness gives each call a signal of its own and looks its worker up here
// to match the call with its event (the time it ran, without waiting for a worker to start,
// and the output of a call that succeeded). Internal: not exported from the package.

const workers = new WeakMap<AbortSignal, number>();

/** Records that the worker `pid` took the call of `signal` (a call sent again elsewhere is recorded again). */
export function noteCallWorker(signal: AbortSignal | undefined, pid: number): void {
  if (signal !== undefined) workers.set(signal, pid);
}

/** The pid of the worker that last took the call of `signal`, if one did. */
export function callWorker(signal: AbortSignal): number | undefined {
  return workers.get(signal);
}
