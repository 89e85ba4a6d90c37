// NODE_DEBUG=airlock: the host's own trace, for what no event or log line shows.
import { createRequire } from 'node:module';

/**
 * `util.debuglog('airlock')`. node:util is required, not imported: an ES import of a built-in
 * makes Node build that module's ES facade, which reads every export, the lazy ones too
 * (`TextDecoder`, `util.diff`), a few ms of the start of every process that loads the host.
 */
export const debug: (format: string, ...args: unknown[]) => void = (createRequire(import.meta.url)('node:util') as typeof import('node:util')).debuglog('airlock');
