import { z } from 'zod';

/** Severity of a log line, lowest first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LogLevelSchema = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof LogLevelSchema>;

/** Worker → host: a diagnostic of the worker itself (plugin output is read by the host directly). */
export const LogParamsSchema = z.object({
  level: LogLevelSchema,
  message: z.string(),
});
export type LogParams = z.infer<typeof LogParamsSchema>;
