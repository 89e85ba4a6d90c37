// `airlock-worker --remote`: the worker as the far side of a transport runs it (ssh, `docker
// exec -i`, `kubectl exec -i`). It runs the worker as its child on the same standard streams
// (nothing is relayed), so that:
// - a worker killed by a signal is reported as such (REMOTE_SIGNAL_LINE, then exit 128 + N):
//   the transports say only that they failed;
// - the worker ends with the connection: this process dies with its parent (the transport's
//   session) by PR_SET_PDEATHSIG, and the worker, whose parent it is, dies with it the same way.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { remoteSignalLine } from '@airlock/protocol';
import { PR, getppid, prctl } from '../native/libc.js';

const SIGKILL = 9;
prctl(PR.SET_PDEATHSIG, SIGKILL);
// The signal only arms for a parent alive now: one that is gone already left this orphaned.
if (getppid() === 1) process.exit(70);

const entry = fileURLToPath(new URL('./entry.js', import.meta.url));
// A host that started this directly (no transport to drop its variables) names itself as the
// worker's parent: the worker's parent is this process now.
const env = { ...process.env, ...(process.env.AIRLOCK_HOST_PID !== undefined && { AIRLOCK_HOST_PID: String(process.pid) }) };
const worker = spawn(process.execPath, ['--no-warnings', '--single-threaded', entry], { stdio: 'inherit', env });
// Asked to stop (the session's hang-up, a container's stop): the worker goes at once, as a killed one would.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => worker.kill('SIGKILL'));
worker.on('exit', (code, signal) => {
  if (signal === null) {
    process.exitCode = code ?? 1;
    return;
  }
  process.stderr.write(`${remoteSignalLine(signal)}\n`);
  process.exitCode = 128 + (constants.signals[signal] ?? 0);
});
worker.on('error', (error) => {
  process.stderr.write(`airlock-worker: cannot start the worker: ${error.message}\n`);
  process.exitCode = 1;
});
