import { z } from 'zod';

const positiveInt = z.number().int().positive();

/**
 * The limits of one call, as the user gives them (host defaults overridden per call).
 * Every field is optional: absent means "no limit of this kind".
 */
export const LimitsSchema = z.strictObject({
  /** Wall clock for one call, in milliseconds. Enforced by the host. */
  timeoutMs: positiveInt.optional(),
  /** Memory the plugin may add on top of the worker's own, in bytes. Enforced in the worker (RLIMIT_DATA). */
  memoryBytes: positiveInt.optional(),
  /** CPU time of the worker during the call, in milliseconds. Enforced by the host (and RLIMIT_CPU as a backstop). */
  cpuMs: positiveInt.optional(),
  /** File descriptors the plugin may open on top of the worker's own. Enforced in the worker (RLIMIT_NOFILE). */
  maxOpenFiles: positiveInt.optional(),
  /** Processes and threads the plugin may start. Enforced by the host, which counts the worker's descendants. */
  maxProcesses: positiveInt.optional(),
  /** Bytes the plugin may write to stdout and stderr during the call. Enforced by the host, which reads them. */
  maxOutputBytes: positiveInt.optional(),
});
/** Limits of one call. */
export type Limits = z.infer<typeof LimitsSchema>;

/** The names of every limit, in the order the docs list them. */
export const LIMIT_NAMES = Object.keys(LimitsSchema.shape) as Array<keyof Limits>;

/** The part of the limits the worker applies to itself before running plugin code. */
export const WorkerLimitsSchema = LimitsSchema.pick({ memoryBytes: true, cpuMs: true, maxOpenFiles: true });
/** Limits the worker applies itself. */
export type WorkerLimits = z.infer<typeof WorkerLimitsSchema>;
