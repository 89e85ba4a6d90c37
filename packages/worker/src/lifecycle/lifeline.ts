import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { isOpen } from '../native/fd.js';

/**
 * The reaper's script. It reads the lifeline (a pipe whose other end only the host holds) until
 * it ends, which happens when the host closes it or dies, however it dies. It then leaves the
 * worker's process group (setsid, exec'd so no fork can race the kill), kills that whole group
 * (the worker, if PR_SET_PDEATHSIG has not already, and everything the plugin started, which
 * PDEATHSIG does not reach) and removes the worker's temp dir. Without setsid it kills the group
 * it is in, itself included. Descriptors 3-9 it does not need are closed first.
 */
const REAPER_SCRIPT = [
  'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-',
  'while read -r _; do :; done',
  'if command -v setsid >/dev/null 2>&1; then',
  `  exec setsid /bin/sh -c 'kill -9 -"$1" 2>/dev/null; [ -n "$2" ] && rm -rf -- "$2"' airlock-cleanup "$1" "$2"`,
  'fi',
  'kill -9 0',
].join('\n');

/**
 * Starts the worker's reaper when the host gave it a lifeline (fd `AIRLOCK_LIFELINE_FD`): a
 * small shell in the worker's process group that outlives the worker and kills the group when
 * the host goes away. The host's own killTree takes it with the group on every normal end.
 */
export function startReaper(env: NodeJS.ProcessEnv): void {
  const fd = Number(env.AIRLOCK_LIFELINE_FD);
  delete env.AIRLOCK_LIFELINE_FD;
  if (!Number.isInteger(fd) || fd < 3 || !isOpen(fd)) return;
  try {
    const child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, 'airlock-reaper', String(process.pid), env.TMPDIR ?? ''], {
      stdio: [fd, 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' },
      detached: false,
    });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(fd);
  }
}
