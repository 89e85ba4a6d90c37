import { fileURLToPath } from 'node:url';

/** Path of the worker's entry script, for hosts that spawn it with their own Node. */
export const WORKER_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * The entry script's argument for a worker that will serve one call (plugin-run call and
 * inspect): it runs zod without its JIT, which compiles a validator per schema on its first
 * parse, a cost a long-lived worker recovers and a one-call worker only pays.
 */
export const ONE_CALL_ARGUMENT = '--one-call';
