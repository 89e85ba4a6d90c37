import { z } from 'zod';

/** Host → worker, first message on a fresh channel. */
export const HelloParamsSchema = z.object({
  protocolVersion: z.number().int(),
  hostVersion: z.string(),
  /** A worker whose resident memory passes this after a call retires (host option maxWorkerRssBytes). */
  maxRssBytes: z.number().int().positive().optional(),
  /**
   * The host's calls have a memory limit: the worker starts its memory watcher (a thread, some
   * 50-150 ms) as part of its own start rather than in its first call.
   */
  watchMemory: z.boolean().optional(),
  /** How long the worker keeps looking for the next call once it has run those it was sent, in µs (host option lingerMicros). */
  lingerMicros: z.number().int().min(0).max(100_000).optional(),
});
export type HelloParams = z.infer<typeof HelloParamsSchema>;

/** What a worker can do, announced at the handshake. */
export const CAPABILITIES = ['abi:c', 'abi:arroyo', 'abi:vaccel', 'exec', 'resources', 'limits:memory', 'limits:cpu', 'limits:files'] as const;

/** Worker → host, the answer to hello. */
export const HelloResultSchema = z.object({
  protocolVersion: z.number().int(),
  workerVersion: z.string(),
  pid: z.number().int().positive(),
  capabilities: z.array(z.string()),
  /** The worker's own footprint before any plugin loads; limits are budgets on top of it. */
  baseline: z.object({ dataBytes: z.number().int().nonnegative(), threads: z.number().int().positive() }),
  /**
   * A session directory its launcher made for it (`airlock-worker --remote`: `<its temp dir>/session`,
   * whose `lib` is on its LD_LIBRARY_PATH): where a session on this worker keeps its resources.
   */
  rundir: z.string().min(1).optional(),
});
export type HelloResult = z.infer<typeof HelloResultSchema>;
