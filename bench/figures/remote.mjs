// Figure 14: workers through ssh, to a loopback sshd started for the run (the test suite's own
// helper: throw-away keys, a free port). Against a local worker on the same machine, interleaved
// rounds, best round: sequential calls (what ssh's encryption and the extra hops add to a round
// trip), 64 calls in flight on 2 workers, and the cold start (createHost → first result, which
// pays ssh's connection and key exchange). A machine without sshd records the error instead.
import { fileURLToPath } from 'node:url';
import { createHost } from '@airlock/host';
import { firstResultMs } from '../lib/first-result.mjs';
import { ADD, CALLS, IN_FLIGHT, TYPES_LIB, errorRecord, median, progress, timeInFlight, timeSequential } from '../lib/common.mjs';

const REMOTE_WORKER = fileURLToPath(new URL('../../packages/worker/bin/airlock-worker.js', import.meta.url));

export async function remote(runs = 3, rounds = 3) {
  let sshd;
  try {
    // Node strips the helper's types (it uses only erasable syntax).
    const { startLoopbackSshd } = await import('../../test/helpers/sshd.ts');
    sshd = await startLoopbackSshd();
  } catch (error) {
    return { error: errorRecord(error) };
  }
  const through = (count) => ({ workers: [{ launcher: sshd.ssh, count, command: [process.execPath, REMOTE_WORKER, '--remote'] }], startTimeoutMs: 30_000 });
  try {
    const local = [];
    const ssh = [];
    for (let run = 0; run < runs; run++) {
      progress(`cold start, local then ssh, ${run + 1}/${runs}`);
      local.push(await firstResultMs({}));
      ssh.push(await firstResultMs(through(1)));
    }
    const hosts = { local: createHost({ eager: true }), ssh: createHost({ ...through(1), eager: true }), local2: createHost({ workers: 2, eager: true }), ssh2: createHost({ ...through(2), eager: true }) };
    const sequential = { local: [], ssh: [] };
    const inFlight = { local2: [], ssh2: [] };
    try {
      for (const host of Object.values(hosts)) for (let i = 0; i < 200; i++) await host.call(TYPES_LIB, ADD, [i, 1]);
      for (let round = 0; round < rounds; round++) {
        for (const name of ['local', 'ssh']) {
          progress(`${name} sequential, round ${round + 1}/${rounds}`);
          sequential[name].push(await timeSequential((a, b) => hosts[name].call(TYPES_LIB, ADD, [a, b]), CALLS));
        }
        for (const name of ['local2', 'ssh2']) {
          progress(`${name === 'ssh2' ? 'ssh' : 'local'}, 2 workers, ${IN_FLIGHT} in flight, round ${round + 1}/${rounds}`);
          inFlight[name].push(await timeInFlight((a, b) => hosts[name].call(TYPES_LIB, ADD, [a, b]), CALLS * 2));
        }
      }
    } finally {
      await Promise.all(Object.values(hosts).map((host) => host.close()));
    }
    return {
      coldStartMs: median(ssh),
      coldStartRuns: ssh,
      localColdStartMs: median(local),
      localColdStartRuns: local,
      usPerCall: Math.min(...sequential.ssh),
      localUsPerCall: Math.min(...sequential.local),
      callsPerSecond: Math.max(...inFlight.ssh2),
      localCallsPerSecond: Math.max(...inFlight.local2),
      rounds: { sequential, inFlight },
    };
  } catch (error) {
    return { error: errorRecord(error) };
  } finally {
    await sshd.stop();
  }
}
