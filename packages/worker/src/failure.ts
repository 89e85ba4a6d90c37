import type { ErrorCode, WorkerErrorData } from '@airlock/protocol';

/**
 * A failure the worker detected itself (bad argument, load error, plugin error …). It travels
 * to the host as a JSON-RPC error whose data carries the airlock code and fields.
 */
export class WorkerFailure extends Error {
  override name = 'WorkerFailure';
  readonly data: WorkerErrorData;

  constructor(code: ErrorCode, message: string, fields: Omit<WorkerErrorData, 'code'> = {}) {
    super(message);
    this.data = { code, ...fields };
  }
}

/** INVALID_ARGUMENT */
export const invalidArgument = (message: string, fields: Omit<WorkerErrorData, 'code'> = {}) =>
  new WorkerFailure('INVALID_ARGUMENT', message, fields);

/** LOAD_ERROR */
export const loadError = (message: string, fields: Omit<WorkerErrorData, 'code'> = {}) =>
  new WorkerFailure('LOAD_ERROR', message, fields);

/** PLUGIN_ERROR */
export const pluginError = (message: string, fields: Omit<WorkerErrorData, 'code'> = {}) =>
  new WorkerFailure('PLUGIN_ERROR', message, fields);
