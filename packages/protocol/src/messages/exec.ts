import { z } from 'zod';
import type { SameType } from './limits.js';
import { WorkerLimitsSchema } from './limits.js';

/** heph's three command drivers. */
export const DRIVERS = ['exec', 'bash', 'sh'] as const;
export const DriverSchema = z.enum(DRIVERS);
export type Driver = z.infer<typeof DriverSchema>;

/** Files grouped by name: a plain list is the unnamed group. */
const FileGroupsSchema = z.union([z.array(z.string()), z.record(z.string(), z.array(z.string()))]);

/** Host → worker: run a command through a driver. `passEnv` is already resolved into `env` by the host. */
export const ExecParamsSchema = z.object({
  driver: DriverSchema,
  /** argv for `exec`; a script (or argv joined by spaces) for `bash`/`sh`. */
  run: z.union([z.string(), z.array(z.string()).min(1)]),
  env: z.record(z.string(), z.string()).default({}),
  /** PATH directories replacing the default `/usr/local/bin:/usr/bin:/bin`. */
  path: z.array(z.string()).optional(),
  /** Tools put first on PATH: name → executable path. */
  tools: z.record(z.string(), z.string()).default({}),
  deps: FileGroupsSchema.optional(),
  out: FileGroupsSchema.optional(),
  cwd: z.string().optional(),
  workspaceRoot: z.string().optional(),
  stdin: z.string().optional(),
  limits: WorkerLimitsSchema,
});
export type ExecParams = z.input<typeof ExecParamsSchema>;

/** Worker → host: a command that exited 0. */
/** What a command that exited 0 gives (a non-zero exit rejects with PLUGIN_ERROR and its `exitCode`). */
export interface ExecResult {
  exitCode: 0;
  /** Its standard output and error, whole (within the call's maxOutputBytes). */
  stdout: string;
  stderr: string;
  /** The files it wrote where the spec's `out` said: each path and its size in bytes. */
  outputs: Array<{ path: string; size: number }>;
  /** What the worker changed to make the command run (an environment trimmed to fit the kernel's limit). */
  warnings?: string[] | undefined;
}

/** The schema of {@link ExecResult}. */
export const ExecResultSchema = z.object({
  exitCode: z.literal(0),
  stdout: z.string(),
  stderr: z.string(),
  outputs: z.array(z.object({ path: z.string(), size: z.number().int().nonnegative() })),
  warnings: z.array(z.string()).optional(),
});
const execResultMatch: SameType<ExecResult, z.infer<typeof ExecResultSchema>> = true;
void execResultMatch;
