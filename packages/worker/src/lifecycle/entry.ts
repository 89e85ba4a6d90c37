// The script a host starts a worker with: Node's compile cache first, then the worker itself
// (its bundle, dist/bundle/worker.js).
//
// Every worker is a fresh Node that compiles the same code (zod, vscode-jsonrpc, the protocol,
// the worker's own) before it can answer its handshake; taking V8's code for it from the cache
// instead saves about an eighth of a worker's cold start. The cache must be on before
// any of those modules is compiled, which a static import would do ahead of this module's body:
// hence the dynamic import below.
//
// Where the cache lives: in this package's own directory (node_modules/.cache, which npm never
// packs nor git tracks), not in a temp dir: a worker's TMPDIR goes away with the worker, and the
// user's temp dir must not collect airlock's files. A plugin running in a worker can write this
// cache, but no more than it can write this package's own scripts: where the package is
// read-only, so is its cache, and enableCompileCache merely reports that it is off.
// A namespace import: a named import of an export this Node lacks (before 22.1) would fail to link.
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

try {
  nodeModule.enableCompileCache?.(fileURLToPath(new URL('../../node_modules/.cache/node-compile-cache', import.meta.url)));
} catch {
  // (an unusual file system, or a Node without the cache: the worker runs uncached)
}
// The worker runs from its bundle (scripts/bundle.mjs: one file to load instead of ~190); the
// specifier is a variable because the bundle is built after tsc checks this file.
const bundle = '../bundle/worker.js';
// A worker for one call (see ONE_CALL_ARGUMENT in index.ts; the literal is repeated here so that
// this script imports nothing before the cache is on): zod reads this global when it loads.
if (process.argv.includes('--one-call')) (globalThis as { __zod_globalConfig?: object }).__zod_globalConfig = { jitless: true };
await import(bundle);
