import { z } from 'zod';

/**
 * Worker → host: a call left the worker changed (a thread still running, a timer armed, a limit
 * or descriptor changed …). Sent before that call's answer for what could act by itself, after
 * it for the rest, always before the worker starts anything else. The call's outcome stands, but
 * the worker serves no other call: calls sent behind it are refused as never started.
 */
export const RetireParamsSchema = z.object({
  /** What the call changed, for logs and for the call's error details. */
  reason: z.string().max(4096),
});
export type RetireParams = z.infer<typeof RetireParamsSchema>;
