// The schema of the launch line a host sends `airlock-worker --remote` (see remote-launch.ts).
import { z } from 'zod';
import type { SameType } from './limits.js';
import { REMOTE_LAUNCH_PREFIX, type RemoteLaunch } from './remote-launch.js';

/** The schema of {@link RemoteLaunch} (each field is documented there). */
export const RemoteLaunchSchema = z.strictObject({
  protocolVersion: z.number().int().nonnegative(),
  hostVersion: z.string(),
  env: z.record(z.string(), z.string()),
  passEnv: z.array(z.string()),
  maxFrameBytes: z.number().int().positive(),
  singleThreaded: z.boolean(),
});
const launchMatch: SameType<RemoteLaunch, z.infer<typeof RemoteLaunchSchema>> = true;
void launchMatch;

/** Reads a launch line (without its newline); throws naming what is wrong with it. */
export function parseRemoteLaunchLine(line: string): RemoteLaunch {
  if (!line.startsWith(REMOTE_LAUNCH_PREFIX)) {
    throw new Error(`expected the host's launch line ("${REMOTE_LAUNCH_PREFIX}{…}") first on standard input, got ${JSON.stringify(line.slice(0, 60))}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(line.slice(REMOTE_LAUNCH_PREFIX.length));
  } catch (error) {
    throw new Error(`the host's launch line is not JSON: ${(error as Error).message}`);
  }
  const parsed = RemoteLaunchSchema.safeParse(value);
  if (!parsed.success) throw new Error(`the host's launch line is malformed: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}
