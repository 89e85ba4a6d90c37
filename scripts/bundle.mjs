// Bundles the two entry points that start a process — the worker and the plugin-run CLI — into
// a few files each, after `tsc -b` has built dist/.
//
// Why: a process that loads ~200 modules one by one (zod alone is 95, execa 111) spends most of
// its start in Node's module loader, not in airlock: a worker took ~125 ms to be ready and the
// CLI ~190 ms to load, where `node -e 0` takes ~30 ms. Bundled, the worker is ready in about
// half the time, and the CLI loads in about a third. The libraries (`import '@airlock/host'`)
// stay the modules tsc wrote: readable stack traces, and nothing to bundle twice in an app.
//
// What stays outside a bundle: koffi (a native addon, loaded from its package) and, for the
// CLI, @airlock/worker (whose entry is located relative to its own files).
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Each bundle: what it starts from, where it goes, what it leaves to Node to load. */
const bundles = [
  {
    name: 'worker',
    // The memory watcher is a worker thread started from `new URL('./memory-watch-thread.js',
    // import.meta.url)`: it must sit beside the bundle under that name.
    input: { worker: 'packages/worker/dist/main.js', 'memory-watch-thread': 'packages/worker/dist/limits/memory-watch-thread.js' },
    dir: 'packages/worker/dist/bundle',
    external: ['koffi'],
  },
  {
    name: 'plugin-run',
    // prestart is its own entry so the CLI can spawn a worker before it loads the rest.
    input: { 'plugin-run': 'packages/host/dist/cli/program.js', prestart: 'packages/host/dist/worker/prestart.js' },
    dir: 'packages/host/dist/bundle',
    external: ['koffi', '@airlock/worker'],
  },
];

for (const bundle of bundles) {
  const dir = `${root}${bundle.dir}`;
  await rm(dir, { recursive: true, force: true });
  const input = Object.fromEntries(Object.entries(bundle.input).map(([name, path]) => [name, `${root}${path}`]));
  await build({
    input,
    platform: 'node',
    external: bundle.external,
    logLevel: 'warn',
    output: { dir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  });
}
