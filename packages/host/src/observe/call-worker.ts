// Which worker took a call, and when, by the call's AbortSignal. A host.call's promise says
// neither; the harness gives each call a signal of its own and looks it up here to time the
// call without the wait for a worker to start, and to tell its output from other calls'.
// Internal: not exported from the package.

/** The worker that took a call, where it runs (`local`, or its group's launcher) and when (performance.now()). */
export interface CallTaken {
  pid: number;
  where: string;
  at: number;
}

const taken = new WeakMap<AbortSignal, CallTaken>();

/** Records that the worker `pid` takes the call of `signal` now (a call sent again elsewhere is recorded again). */
export function noteCallWorker(signal: AbortSignal | undefined, pid: number, where: string): void {
  if (signal !== undefined) taken.set(signal, { pid, where, at: performance.now() });
}

/** The worker that last took the call of `signal`, and when, if one did. */
export function callWorker(signal: AbortSignal): CallTaken | undefined {
  return taken.get(signal);
}
