#!/usr/bin/env node
// plugin-run: the command line of airlock. Every subcommand runs native code in workers and
// exits with the status README.md's Errors table gives the outcome.
//
// The version check comes before anything else is imported: on an older Node the dependencies
// would fail to load with an error that says nothing useful.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `plugin-run: airlock needs Node.js 22 or newer, this is ${process.version} (${process.execPath}).\n` +
      '  In a checkout, `npx plugin-run …` uses the Node the project installs.\n',
  );
  process.exit(7);
}
// Each plugin-run is a fresh process: let Node reuse compiled code between runs. The cache lives
// in this package's own directory (node_modules/.cache, which npm never packs nor git tracks),
// not in the user's temp dir, which must not collect airlock's files. Where the package is
// read-only the cache is simply off: enableCompileCache reports that, it does not throw.
const [{ enableCompileCache }, { fileURLToPath }] = await Promise.all([import('node:module'), import('node:url')]);
try {
  enableCompileCache?.(fileURLToPath(new URL('../../node_modules/.cache/node-compile-cache', import.meta.url)));
} catch {
  // (an unusual file system: plugin-run runs uncached)
}
// The commands that run native code (call, inspect, exec) start their worker first thing:
// spawned now, it starts while the rest of the CLI loads, and the command's host takes it (only
// if it would have spawned exactly that worker; otherwise it is ended unused).
// The CLI itself runs from a bundle (scripts/bundle.mjs): one file to load, not two hundred.
// The specifiers are variables because the bundle is built after tsc checks this file.
const bundle = '../bundle/';
/** The subcommands that start a worker (see prestart.cliSpawnOptions). */
const WORKER_COMMANDS = new Set(['call', 'inspect', 'exec']);
const prestart = (await import(`${bundle}prestart.js`)) as typeof import('../worker/prestart.js');
const words = process.argv.slice(2);
// A command of one call parses each schema once: zod's JIT would compile a validator for every
// object schema on its first parse (~10 ms of plugin-run call) to save microseconds on later
// ones. zod reads this global, shared by its copies, when it loads (the bundle's copy loads
// below). The harness and fuzz commands parse per input and keep the JIT.
if (WORKER_COMMANDS.has(words[0] ?? '')) (globalThis as { __zod_globalConfig?: object }).__zod_globalConfig = { jitless: true };
// A sandboxed worker is not started ahead: what it sees depends on the library, known once the command line has parsed.
// Nor one whose environment a call's --env or --pass-env changes.
const sandboxed = words.some((word) => word === '--sandbox' || word.startsWith('--sandbox-') || word.startsWith('--sandbox='));
const ownEnv = words[0] !== 'exec' && words.some((word) => /^--(pass-)?env(=|$)/.test(word));
// inspect loads nothing (and so starts no worker) unless --load.
const idle = words[0] === 'inspect' && !words.includes('--load');
// Nor a local worker for a call that runs on another machine.
const launched = words.some((word) => word === '--launcher' || word.startsWith('--launcher='));
if (WORKER_COMMANDS.has(words[0] ?? '') && !sandboxed && !ownEnv && !idle && !launched) prestart.prestartCliWorker(words.some((word) => word === '--memory' || word.startsWith('--memory=')));
try {
  await import(`${bundle}plugin-run.js`);
} finally {
  await prestart.discardPrestarted();
}
