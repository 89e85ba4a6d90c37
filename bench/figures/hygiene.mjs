// Figure 12: the worker's per-call hygiene check (what a call left behind: threads, children,
// timers, signals, limits, descriptors, directory, umask, environment), timed on its own in a
// child Node process the way a worker runs it after every call in `call` isolation. Figures 3
// and 4 include it; this row shows its share.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CALLS } from '../lib/common.mjs';

const CHILD = `
const { Hygiene } = await import(process.argv[1]);
const hygiene = new Hygiene({ expected: () => undefined, callBudget: undefined });
const checks = Number(process.argv[2]);
// Node finishes starting up (a descriptor or two) after the first tick: take the baseline after.
await new Promise((settled) => setTimeout(settled, 100));
hygiene.rebase();
const perCheck = [];
for (let round = 0; round < 5; round++) {
  const start = performance.now();
  for (let i = 0; i < checks; i++) {
    const reason = hygiene.checkLive() ?? hygiene.checkState();
    if (reason !== undefined) throw new Error(\`a clean process looked changed: \${reason}\`);
  }
  perCheck.push(((performance.now() - start) * 1e3) / checks);
}
console.log(JSON.stringify(perCheck));
`;

export async function hygiene(checks = CALLS * 4) {
  const module = fileURLToPath(new URL('../../packages/worker/dist/hygiene/hygiene.js', import.meta.url));
  const rounds = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, module, String(checks)], { encoding: 'utf8' }));
  return { usPerCall: Math.min(...rounds), rounds, checks };
}
