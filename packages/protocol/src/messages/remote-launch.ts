// The line a host sends first to `airlock-worker --remote`, before the channel's first frame.
// A transport (ssh, `docker exec -i`, `kubectl exec -i`) carries no environment and no
// descriptor but stdio, and ssh hands its command line to a shell: what the worker must be
// started with travels on its standard input instead, read by the far side before it starts the
// worker (an environment read after the worker's start would be too late for the dynamic loader).
//
// This module stays free of zod: the host's prestart bundle, which must load fast, writes the line.
// Its schema is remote-launch-schema.ts.

/** The start of the launch line; the JSON of {@link RemoteLaunch} follows, then a newline. */
export const REMOTE_LAUNCH_PREFIX = 'airlock-launch ';

/** Longest launch line the far side reads, in bytes. */
export const MAX_REMOTE_LAUNCH_BYTES = 1024 * 1024;

/** How the far side starts its worker (checked there by RemoteLaunchSchema). */
export interface RemoteLaunch {
  /** The host's protocol version: a far side of another one refuses to start a worker, naming both. */
  protocolVersion: number;
  /** The host's airlock version, for that message. */
  hostVersion: string;
  /** Variables of the worker's environment (the host's `env` option). */
  env: Record<string, string>;
  /** Names of the far side's own variables passed on to the worker (the host's `passEnv`), where it has them. */
  passEnv: string[];
  /** Largest frame either end of the channel accepts. */
  maxFrameBytes: number;
  /** Whether the worker runs with --single-threaded (its memory watcher must keep polling; see the host's workerArgs). */
  singleThreaded: boolean;
}

/** The launch line for `launch`, newline included. */
export function remoteLaunchLine(launch: RemoteLaunch): string {
  return `${REMOTE_LAUNCH_PREFIX}${JSON.stringify(launch)}\n`;
}
