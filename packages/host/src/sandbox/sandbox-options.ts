import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { SameType } from '@airlock/protocol';
import { AirlockError } from '../errors/airlock-error.js';

/**
 * The sandbox of a host's (or a session's) workers: `true` for the defaults, or what to let in.
 * Workers then run under bubblewrap in namespaces of their own (see docs/SANDBOX.md): their own
 * PID namespace, an unprivileged uid, no network, a read-only view of the system, the library
 * called and the paths given here, and writes only to their own temp dir and `writable`.
 */
/** What a sandbox lets the plugin reach beside the system, the runtime and the libraries called. */
export interface SandboxPaths {
  /** The host's network (its interfaces, loopback included) instead of a network of the worker's own with loopback only. Default false. */
  network?: boolean | undefined;
  /** Files and directories the plugin may read, at the same paths (relative ones against the host's cwd). Default []. */
  readable?: string[] | undefined;
  /** Files and directories the plugin may read and write, at the same paths. Default []. */
  writable?: string[] | undefined;
}

/** The `sandbox` option as the user writes it: `true`, `false`, or what the sandbox shows. */
export type SandboxOptions = boolean | SandboxPaths;

/** The schema of {@link SandboxOptions} (each key is documented on SandboxPaths). */
export const SandboxOptionsSchema = z.union([
  z.boolean(),
  z.strictObject({
    network: z.boolean().default(false),
    readable: z.array(z.string().min(1)).default([]),
    writable: z.array(z.string().min(1)).default([]),
  }),
]);
const sandboxMatch: SameType<SandboxOptions, z.input<typeof SandboxOptionsSchema>> = true;
void sandboxMatch;

/** A sandbox in force: every path absolute and checked to exist. */
export interface SandboxPolicy {
  network: boolean;
  readable: string[];
  writable: string[];
}

/**
 * The policy of a `sandbox` option (undefined: no sandbox). A path that does not exist is
 * INVALID_ARGUMENT naming it: bubblewrap could not show it, and a typo must not pass for a path
 * the plugin simply cannot reach.
 */
export function sandboxPolicy(option: z.output<typeof SandboxOptionsSchema> | undefined, cwd: string): SandboxPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { network: false, readable: [], writable: [] };
  const paths = (list: string[], name: string) =>
    list.map((path) => {
      const absolute = isAbsolute(path) ? path : resolve(cwd, path);
      if (!existsSync(absolute)) throw new AirlockError('INVALID_ARGUMENT', `sandbox.${name}: ${JSON.stringify(path)} does not exist (a sandbox can only show an existing file or directory)`);
      return absolute;
    });
  return { network: option.network, readable: paths(option.readable, 'readable'), writable: paths(option.writable, 'writable') };
}
