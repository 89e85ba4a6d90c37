// Figure 9: the whole process `plugin-run call libm.so.6 'double cos(double)' 0` (it must print
// 1) against `node -e 0`, the same Node, interleaved; medians.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, now } from '../lib/common.mjs';

const PLUGIN_RUN = fileURLToPath(new URL('../../packages/host/bin/plugin-run.js', import.meta.url));

function timeProcess(args) {
  const start = now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      const ms = now() - start;
      if (error) reject(new Error(`${args.join(' ')} failed: ${error.message} ${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

export async function cli(runs = 7) {
  const pluginRun = [];
  const bare = [];
  await timeProcess(['-e', '0']); // the page cache has Node
  for (let run = 0; run < runs; run++) {
    const { ms, stdout } = await timeProcess([PLUGIN_RUN, 'call', 'libm.so.6', 'double cos(double)', '0']);
    if (stdout.trim() !== '1') throw new Error(`plugin-run printed ${JSON.stringify(stdout)}, not 1`);
    pluginRun.push(ms);
    bare.push((await timeProcess(['-e', '0'])).ms);
  }
  return { ms: median(pluginRun), runs: pluginRun, nodeMs: median(bare), nodeRuns: bare };
}
