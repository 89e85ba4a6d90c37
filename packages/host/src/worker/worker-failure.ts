// What a worker's own error for a call means on this side: the call's AirlockError, or, when the
// worker refused a call it never started (it retired first), a NotStarted for the pool to run it
// elsewhere. The worker's words are schema-checked before they get here.
import type { WorkerErrorData } from '@airlock/protocol';
import { AirlockError } from '../errors/airlock-error.js';
import { NotStarted } from './call-types.js';

/** What the host knows beside the worker's error: its last output lines, its pid, and why it retires (if it does). */
export interface FailureContext {
  output: string[];
  workerPid: number;
  retiring: string | undefined;
}

/** Whether the worker refused the call without starting it, having retired: the call runs on another worker. */
export function refusedUnstarted(data: WorkerErrorData, retiring: string | undefined): boolean {
  return data.details?.notStarted === true && retiring !== undefined;
}

/** The NotStarted of a call a retired worker refused (see refusedUnstarted). */
export function unstartedFailure(message: string, workerPid: number): AirlockError {
  return new NotStarted(`worker ${workerPid} retired before the call started: ${message}`) as AirlockError;
}

/** The caller's error for a call that failed in the worker: its code and fields, the output, the worker, and the retirement it caused. */
export function callFailure(data: WorkerErrorData, message: string, context: FailureContext): AirlockError {
  const { code, ...fields } = data;
  const details = context.retiring !== undefined ? { ...fields.details, retired: context.retiring } : fields.details;
  return new AirlockError(code, message, { ...fields, ...(details !== undefined && { details }), output: context.output, workerPid: context.workerPid });
}
