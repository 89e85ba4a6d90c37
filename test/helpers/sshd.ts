// A real sshd on 127.0.0.1 for the tests of workers started through ssh: its own free port, a
// throw-away host key, and a client key authorized for this run only, all in one temp dir that
// stop() removes with the daemon.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's openssh-server puts the daemon (`.ci/run` installs it). */
const SSHD = '/usr/sbin/sshd';

/** A running loopback sshd and the ssh command line that reaches it. */
export interface LoopbackSshd {
  port: number;
  /** The daemon's pid: every session's processes descend from it. */
  pid: number;
  /** `ssh` and its options up to the destination: append the remote command. */
  ssh: string[];
  stop(): Promise<void>;
}

/** How the daemon is set up. */
export interface LoopbackSshdOptions {
  /**
   * Variables of every session's environment (sshd's SetEnv), such as PATH: where the far side
   * finds `airlock-worker` (a login's shell start-up files may still add to it).
   */
  env?: Record<string, string>;
}

/** Starts sshd on a free loopback port; resolves once it accepts connections. */
export async function startLoopbackSshd(options: LoopbackSshdOptions = {}): Promise<LoopbackSshd> {
  // Without the daemon, a clear error (a spawn of a missing file is an 'error' event nobody awaits).
  try {
    accessSync(SSHD, constants.X_OK);
  } catch {
    throw new Error(`${SSHD} is not installed (Debian's openssh-server; .ci/run installs it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'airlock-test-sshd-'));
  const keygen = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'airlock-test', '-f', join(dir, name)]);
  keygen('host_key');
  keygen('client_key');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      ...(options.env !== undefined ? [`SetEnv ${Object.entries(options.env).map(([name, value]) => `${name}=${value}`).join(' ')}`] : []),
      '',
    ].join('\n'),
  );
  // The privilege-separation directory the daemon insists on.
  mkdirSync('/run/sshd', { recursive: true });
  const daemon = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  if (!(await accepts(port, daemon))) {
    daemon.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`sshd did not start on 127.0.0.1:${port}: ${log.trim() || 'no output'}`);
  }
  const ssh = [
    'ssh',
    '-i', join(dir, 'client_key'),
    '-p', String(port),
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    'root@127.0.0.1',
  ];
  return {
    port,
    pid: daemon.pid!,
    ssh,
    stop: async () => {
      daemon.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether the daemon accepts a connection within a few seconds (false at once if it exits). */
async function accepts(port: number, daemon: ChildProcess): Promise<boolean> {
  for (let attempt = 0; attempt < 100 && daemon.exitCode === null; attempt += 1) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
