// Bundles the two entry points that start a process — the worker and the plugin-run CLI — into
// a few files each, after `tsc -b` has built dist/.
//
// Why: a process that loads ~200 modules one by one (zod alone is 95, execa 111) spends most of
// its start in Node's module loader, not in airlock: a worker took ~125 ms to be ready and the
// CLI ~190 ms to load, where `node -e 0` takes ~30 ms. Bundled, the worker is ready in about
// half the time, and the CLI loads in about a third. The libraries (`import '@airlock/host'`)
// stay the modules tsc wrote: readable stack traces, and nothing to bundle twice in an app.
//
// What stays outside a bundle: koffi (a native addon, loaded from its package: the worker
// requires its CommonJS build, see koffiThroughRequire) and, for the CLI, @airlock/worker (whose
// entry is located relative to its own files).
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * koffi's ES module build imports `node:util` whole. An ES import of a built-in makes Node build
 * that module's ES facade, which reads every export, the lazy ones too: `TextDecoder`, and
 * `util.diff`, whose colours create `process.stderr`. That was ~25 ms of every worker's start.
 * Its CommonJS build requires `util` instead, which reads nothing: the worker loads that one.
 */
const koffiThroughRequire = {
  name: 'airlock-koffi-require',
  resolveId(source) {
    return source === 'koffi' ? { id: '\0airlock-koffi' } : null;
  },
  load(id) {
    if (id !== '\0airlock-koffi') return null;
    return 'import { createRequire } from "node:module";\nexport default createRequire(import.meta.url)("koffi");\n';
  },
};

/**
 * Node's built-ins are required, not imported, in the bundles. An ES import of a built-in makes
 * Node build that module's ES facade, which reads every export, the lazy ones too: node:fs's
 * ReadStream loads its streams, node:util's TextDecoder its decoders and util.diff its colours
 * (which create process.stderr). A require reads only the names the code takes. ~10 ms of each
 * worker's and each plugin-run's start. `node:module` stays imported (it gives createRequire).
 */
const builtinsThroughRequire = {
  name: 'airlock-builtins-require',
  renderChunk(code) {
    let changed = false;
    const out = code.replace(/^import (?:(\* as [\w$]+)|([\w$]+)?(?:, )?(?:\{([^}]*)\})?) from "(node:(?!module")[\w/]+)";$/gm, (line, namespace, name, names, specifier) => {
      changed = true;
      const required = `__airlockRequire(${JSON.stringify(specifier)})`;
      if (namespace !== undefined) return `const ${namespace.slice(5)} = ${required};`;
      const parts = [];
      if (name !== undefined) parts.push(`const ${name} = ${required};`);
      if (names !== undefined) parts.push(`const { ${names.trim().replace(/ as /g, ': ')} } = ${required};`);
      return parts.join(' ');
    });
    if (!changed) return null;
    const prelude = 'import { createRequire as __airlockCreateRequire } from "node:module";\nconst __airlockRequire = __airlockCreateRequire(import.meta.url);\n';
    // After a hashbang, which must stay the first line.
    const hashbang = /^#![^\n]*\n/.exec(out)?.[0] ?? '';
    return { code: hashbang + prelude + out.slice(hashbang.length), map: null };
  },
};

/** Each bundle: what it starts from, where it goes, what it leaves to Node to load. */
const bundles = [
  {
    // The memory watcher is a worker thread started from `new URL('./memory-watch-thread.js',
    // import.meta.url)`: it must sit beside the bundle under that name.
    input: { worker: 'packages/worker/dist/main.js', 'memory-watch-thread': 'packages/worker/dist/limits/memory-watch-thread.js' },
    dir: 'packages/worker/dist/bundle',
    external: [],
    plugins: [koffiThroughRequire],
  },
  {
    // prestart is its own entry so the CLI can spawn a worker before it loads the rest.
    input: { 'plugin-run': 'packages/host/dist/cli/program.js', prestart: 'packages/host/dist/worker/prestart.js' },
    dir: 'packages/host/dist/bundle',
    external: ['koffi', '@airlock/worker'],
  },
];

/**
 * vscode-jsonrpc's Node runtime requires node:crypto when it loads, for names of pipes and
 * UUIDs that airlock's channels never ask for; loading node:crypto is 4 ms of every start. In the
 * bundles it is required when first used instead. The build fails if the line is not found, so
 * a new vscode-jsonrpc cannot silently bring the cost back.
 */
const lazyCrypto = {
  name: 'airlock-lazy-crypto',
  transform(code, id) {
    if (!/vscode-jsonrpc[\\/]lib[\\/]node[\\/](ril|main)\.js$/.test(id)) return null;
    const eager = 'const crypto_1 = require("crypto");';
    if (!code.includes(eager)) throw new Error(`scripts/bundle.mjs: ${id} no longer has ${JSON.stringify(eager)}; update lazyCrypto`);
    const lazy =
      'const crypto_1 = { randomUUID: (...args) => require("crypto").randomUUID(...args), randomBytes: (...args) => require("crypto").randomBytes(...args) };';
    return { code: code.replace(eager, lazy), map: null };
  },
};

for (const bundle of bundles) {
  const dir = `${root}${bundle.dir}`;
  await rm(dir, { recursive: true, force: true });
  const input = Object.fromEntries(Object.entries(bundle.input).map(([name, path]) => [name, `${root}${path}`]));
  await build({
    input,
    platform: 'node',
    external: bundle.external,
    logLevel: 'warn',
    plugins: [lazyCrypto, builtinsThroughRequire, ...(bundle.plugins ?? [])],
    output: { dir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  });
}
