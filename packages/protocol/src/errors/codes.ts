import { z } from 'zod';

/** Every way an airlock operation can fail: one closed set, shared by host, worker and CLI. */
export const ERROR_CODES = [
  'PLUGIN_ERROR',
  'INVALID_ARGUMENT',
  'CRASHED',
  'TIMEOUT',
  'LIMIT_EXCEEDED',
  'LOAD_ERROR',
  'PROTOCOL_ERROR',
  'UNAVAILABLE',
  'CANCELLED',
] as const;

/** The zod schema of an error code. */
export const ErrorCodeSchema = z.enum(ERROR_CODES);
/** One of ERROR_CODES. */
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** The limits a call can exceed (`limit` on a LIMIT_EXCEEDED error). */
export const LIMIT_KINDS = ['memory', 'cpu', 'files', 'processes', 'output'] as const;
/** The zod schema of a limit kind. */
export const LimitKindSchema = z.enum(LIMIT_KINDS);
/** One of LIMIT_KINDS. */
export type LimitKind = z.infer<typeof LimitKindSchema>;

/** `plugin-run` exit status for each outcome (README.md, "Errors"). */
export const EXIT_CODES: Readonly<Record<ErrorCode | 'OK', number>> = {
  OK: 0,
  PLUGIN_ERROR: 1,
  INVALID_ARGUMENT: 2,
  CRASHED: 3,
  TIMEOUT: 4,
  LIMIT_EXCEEDED: 5,
  LOAD_ERROR: 6,
  PROTOCOL_ERROR: 7,
  UNAVAILABLE: 7,
  CANCELLED: 7,
};

/**
 * JSON-RPC error code the worker uses for an airlock failure it detected itself; the airlock
 * code travels in `data.code`. Inside the JSON-RPC "server error" range reserved for
 * implementations.
 */
export const RPC_AIRLOCK_ERROR = -32001;

/** The `data` of a JSON-RPC error the worker sends for a failure it detected itself. */
export const WorkerErrorDataSchema = z.object({
  code: ErrorCodeSchema,
  /** PLUGIN_ERROR from vAccel: the status the function returned and its errno name. */
  status: z.number().int().optional(),
  errno: z.string().optional(),
  /** PLUGIN_ERROR from a command: its exit status. */
  exitCode: z.number().int().optional(),
  limit: LimitKindSchema.optional(),
  /** INVALID_ARGUMENT: the position of the offending argument (0-based). */
  argument: z.number().int().optional(),
  /** Anything else worth showing (the loader's message, the expected type …). */
  details: z.record(z.string(), z.unknown()).optional(),
});
/** The `data` of a worker-detected failure. */
export type WorkerErrorData = z.infer<typeof WorkerErrorDataSchema>;
