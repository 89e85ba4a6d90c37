import { z } from 'zod';

const positiveInt = z.number().int().positive();

/**
 * The limits of one call, as the user gives them (host defaults overridden per call).
 * Every field is optional: absent means "no limit of this kind".
 */
export interface Limits {
  /** Wall clock for one call, in milliseconds. Enforced by the host. */
  timeoutMs?: number | undefined;
  /** Memory the plugin may add on top of the worker's own, in bytes. Enforced in the worker (RLIMIT_DATA). */
  memoryBytes?: number | undefined;
  /** CPU time of the worker during the call, in milliseconds. Enforced by the host (and RLIMIT_CPU as a backstop). */
  cpuMs?: number | undefined;
  /** File descriptors the plugin may open on top of the worker's own. Enforced in the worker (RLIMIT_NOFILE). */
  maxOpenFiles?: number | undefined;
  /** Processes and threads the plugin may start. Enforced by the host, which counts the worker's descendants. */
  maxProcesses?: number | undefined;
  /** Bytes the plugin may write to stdout and stderr during the call. Enforced by the host, which reads them. */
  maxOutputBytes?: number | undefined;
}

/** The schema of {@link Limits} (each key is documented there): positive integers. */
export const LimitsSchema = z.strictObject({
  timeoutMs: positiveInt.optional(),
  memoryBytes: positiveInt.optional(),
  cpuMs: positiveInt.optional(),
  maxOpenFiles: positiveInt.optional(),
  maxProcesses: positiveInt.optional(),
  maxOutputBytes: positiveInt.optional(),
});

/** Compiles only when the two types are the same: a documented interface and its schema's type. */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const limitsMatch: SameType<Limits, z.infer<typeof LimitsSchema>> = true;
void limitsMatch;

/** The names of every limit, in the order the docs list them. */
export const LIMIT_NAMES = Object.keys(LimitsSchema.shape) as Array<keyof Limits>;

/** The part of the limits the worker applies to itself before running plugin code. */
export const WorkerLimitsSchema = LimitsSchema.pick({ memoryBytes: true, cpuMs: true, maxOpenFiles: true });
/** Limits the worker applies itself. */
export type WorkerLimits = z.infer<typeof WorkerLimitsSchema>;
