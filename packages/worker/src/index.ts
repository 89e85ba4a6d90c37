import { fileURLToPath } from 'node:url';

/** Path of the worker's entry script, for hosts that spawn it with their own Node. */
export const WORKER_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));
