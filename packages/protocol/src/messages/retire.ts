import { z } from 'zod';

/**
 * Worker → host, sent right before the answer to a call that left the worker changed (a thread
 * still running, a timer armed, a limit or descriptor changed …): the call's outcome stands,
 * but the worker serves no other call. Calls sent behind it are refused as never started.
 */
export const RetireParamsSchema = z.object({
  /** What the call changed, for logs and for the call's error details. */
  reason: z.string().max(4096),
});
export type RetireParams = z.infer<typeof RetireParamsSchema>;
