import { z } from 'zod';
import { WorkerErrorDataSchema } from '../errors/codes.js';
import { CallParamsSchema } from './call.js';

/**
 * How much a worker checks between the calls of a run: `call` after every call (the call that
 * leaves the worker changed is the one blamed, and no later call sees the change); `run` once
 * the run is over, and between chunks of it (`callMany`'s throughput mode: a change one call
 * makes may be seen by the calls after it in the same chunk).
 */
export const IsolationSchema = z.enum(['call', 'run']);
export type Isolation = z.infer<typeof IsolationSchema>;

/** Sequence numbers of calls on one channel, given by the host, increasing. */
const SeqSchema = z.number().int().nonnegative();

/**
 * A non-empty array whose elements the reader checks itself (arguments against the call's
 * signature, values against what the call declared). z.array(z.unknown()) would visit and
 * copy each of a run's thousands of elements on the hot path, for no check.
 */
const ElementsSchema = z.custom<unknown[]>((value) => Array.isArray(value) && value.length > 0, { message: 'expected a non-empty array' });

/**
 * Calls of one function that travel together: call `first + i` takes `args[i]`. A single
 * `host.call` is a run of one; `callMany` sends its inputs as runs of many.
 */
export const CallRunSchema = z.object({
  first: SeqSchema,
  call: CallParamsSchema.omit({ args: true }),
  /** Wire-encoded arguments of each call. */
  args: ElementsSchema,
  isolation: IsolationSchema,
});
export type CallRun = z.infer<typeof CallRunSchema>;

/**
 * Host → worker (a notification, read off the channel without vscode-jsonrpc's per-message
 * dispatch): runs to execute one call at a time, in order, after everything sent before them.
 */
export const CallsParamsSchema = z.object({ runs: z.array(CallRunSchema).min(1) });
export type CallsParams = z.infer<typeof CallsParamsSchema>;

/** The worker's error for one call: the JSON-RPC error's message and data. */
export const CallErrorSchema = z.object({ message: z.string(), data: WorkerErrorDataSchema });
export type CallError = z.infer<typeof CallErrorSchema>;

/**
 * Worker → host: the outcomes of consecutive calls, `first` onwards: `values[i]` is call
 * `first + i`'s wire-encoded value, unless `errors` holds an entry for index `i`.
 */
export const ResultsParamsSchema = z.object({
  first: SeqSchema,
  values: ElementsSchema,
  errors: z.record(z.string().regex(/^\d+$/), CallErrorSchema).optional(),
});
export type ResultsParams = z.infer<typeof ResultsParamsSchema>;

/** The file in a worker's temp dir where results not yet sent survive the worker's death. */
export const RESULT_LOG_NAME = '.airlock-results';
/** Bytes of the result log: an 8-byte committed length, then newline-separated ResultsParams. */
export const RESULT_LOG_BYTES = 1024 * 1024;
