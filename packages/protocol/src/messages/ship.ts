import { z } from 'zod';
import { Sha256Schema } from './call.js';

/**
 * Host → a worker on another machine: a library's content by its hash, for the worker's
 * content-addressed cache. Without `bytes` it asks whether the cache holds that content (a file
 * there whose hash does not match is removed, and is not held); with them, the worker checks
 * their hash and stores them. Calls then name the library by the host's path with `sha256` and
 * `shipped`, and the worker loads the cached file through the descriptor it hashes.
 */
export const ShipParamsSchema = z.object({
  sha256: Sha256Schema,
  /** The file's bytes, base64. */
  bytes: z.string().optional(),
});
export type ShipParams = z.infer<typeof ShipParamsSchema>;

/** Worker → host: whether the cache holds that content now. */
export const ShipResultSchema = z.object({ present: z.boolean() });
export type ShipResult = z.infer<typeof ShipResultSchema>;
