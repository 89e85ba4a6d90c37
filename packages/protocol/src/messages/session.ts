import { z } from 'zod';
import { Sha256Schema, VaccelLayoutSchema } from './call.js';
import { WorkerLimitsSchema } from './limits.js';

/** One file of a resource: a path to copy, or bytes (base64) with the file name to give them. */
export const ResourceFileSchema = z.union([
  z.object({ path: z.string().min(1) }),
  z.object({ data: z.string(), filename: z.string().min(1) }),
]);
export type ResourceFile = z.infer<typeof ResourceFileSchema>;

/** Host → worker: persist files under the session's rundir and load them (dependencies first). */
export const RegisterResourceParamsSchema = z.object({
  rundir: z.string().min(1),
  files: z.array(ResourceFileSchema).min(1),
  sha256: Sha256Schema.optional(),
});
export type RegisterResourceParams = z.infer<typeof RegisterResourceParamsSchema>;

export const RegisterResourceResultSchema = z.object({
  id: z.number().int().positive(),
  dir: z.string(),
  files: z.array(z.string()),
});
export type RegisterResourceResult = z.infer<typeof RegisterResourceResultSchema>;

export const UnregisterResourceParamsSchema = z.object({ id: z.number().int().positive() });
export type UnregisterResourceParams = z.infer<typeof UnregisterResourceParamsSchema>;

/** Host → worker: vAccel exec of a function of a registered resource's library. */
export const ExecResourceParamsSchema = z.object({
  id: z.number().int().positive(),
  fn: z.string().min(1),
  args: z.unknown(),
  limits: WorkerLimitsSchema,
  vaccelLayout: VaccelLayoutSchema.optional(),
});
export type ExecResourceParams = z.infer<typeof ExecResourceParamsSchema>;
