// plugin-run shell driven for real: tmux gives it a terminal, the test types into it, reads the
// screen back, resizes the window, and checks the status the CLI exits with.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, eventually, processesMatching } from '../helpers/fixtures.js';

const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;
const HAS_SCRIPT = existsSync('/usr/bin/script') || existsSync('/bin/script');
const SOCKET = `airlock-shell-test-${process.pid}`;

let dir: string;
let entry: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-shell-test-'));
  entry = cliEntry(dir);
});
afterAll(() => {
  spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', timeout: 5000 });
}

/** The session's screen and scroll-back. */
function screen(session: string): string {
  return tmux('capture-pane', '-p', '-J', '-t', session, '-S', '-200');
}

/** Starts `plugin-run shell <args>` in a detached tmux session; the CLI's status lands in a file. */
function startShell(session: string, args: string[], size = { x: 100, y: 30 }): string {
  const status = join(dir, `${session}.status`);
  const quoted = [process.execPath, entry, 'shell', ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  tmux('new-session', '-d', '-s', session, '-x', String(size.x), '-y', String(size.y), '-e', 'AIRLOCK_SHELL_TEST_LEAK=leaked', `${quoted}; echo $? > '${status}'; sleep 60`);
  return status;
}

async function waitFor(session: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  let last = '';
  const found = await eventually(() => pattern.test((last = screen(session))), timeoutMs, 50);
  if (!found) throw new Error(`${pattern} did not appear on the screen:\n${last}`);
  return last;
}

async function statusOf(file: string): Promise<number> {
  expect(await eventually(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', 10_000)).toBe(true);
  return Number(readFileSync(file, 'utf8').trim());
}

describe.skipIf(!HAS_TMUX || !HAS_SCRIPT)('plugin-run shell', () => {
  it('runs bash on a real PTY, follows resizes, offers run/xrun/show, and exits with the shell status', async () => {
    const status = startShell('bash', ['--env', 'GREETING=hi there', '--', 'echo ran-$GREETING-command; sleep $((990 + 2))']);
    await waitFor('bash', /\[airlock\]/);
    tmux('send-keys', '-t', 'bash', 'tty; stty size; echo "G=$GREETING leak=${AIRLOCK_SHELL_TEST_LEAK:-none} path=$PATH"', 'Enter');
    const first = await waitFor('bash', /^G=.* path=\/.*$/m);
    expect(first).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(first).toMatch(/^30 100$/m);
    expect(first).toContain('G=hi there leak=none path=/usr/local/bin:/usr/bin:/bin');

    tmux('resize-window', '-t', 'bash', '-x', '80', '-y', '20');
    await new Promise((resolve) => setTimeout(resolve, 300));
    tmux('send-keys', '-t', 'bash', 'clear; stty size', 'Enter');
    await waitFor('bash', /^20 80$/m);

    // `run` runs the command given after -- with the driver's flags; ^C interrupts it, not the CLI.
    // (The marker `sleep 992` appears in no command line but the one `run` starts.)
    tmux('send-keys', '-t', 'bash', 'clear; run', 'Enter');
    await waitFor('bash', /ran-hi there-command/);
    await eventually(() => processesMatching('sleep 992').length > 0, 5000);
    tmux('send-keys', '-t', 'bash', 'C-c', '');
    tmux('send-keys', '-t', 'bash', 'echo "after=$?"; show', 'Enter');
    await waitFor('bash', /after=130[\s\S]*echo ran-\$GREETING-command; sleep \$\(\(990 \+ 2\)\)/);
    expect(await eventually(() => processesMatching('sleep 992').length === 0, 3000)).toBe(true);

    tmux('send-keys', '-t', 'bash', 'exit 3', 'Enter');
    expect(await statusOf(status)).toBe(3);
  });

  it('runs POSIX sh with --driver sh and exits 0', async () => {
    const status = startShell('sh', ['--driver', 'sh', '--', 'echo from-sh']);
    await waitFor('sh', /\[airlock\] \$/);
    tmux('send-keys', '-t', 'sh', 'tty; run; echo "bash=${BASH_VERSION:-none} env=${ENV:-unset}"', 'Enter');
    const out = await waitFor('sh', /^bash=.* env=.*$/m);
    expect(out).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(out).toContain('from-sh');
    expect(out).toContain('env=unset');
    tmux('send-keys', '-t', 'sh', 'exit', 'Enter');
    expect(await statusOf(status)).toBe(0);
  });

  it('with --sandbox runs the shell in the sandbox: uid nobody, its own PID namespace and files, the terminal still its own', async () => {
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'hidden\n');
    const status = startShell('boxed', ['--sandbox', '--', 'echo boxed-run']);
    await waitFor('boxed', /\[airlock\]/);
    tmux('send-keys', '-t', 'boxed', `id -u; tty; stty size; echo "pids=$(ls /proc | grep -c '^[0-9]')"; cat ${secret} || echo no-secret; run`, 'Enter');
    const out = await waitFor('boxed', /^boxed-run$/m);
    expect(out).toMatch(/^65534$/m);
    expect(out).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(out).toMatch(/^30 100$/m);
    expect(out).toContain('No such file or directory');
    expect(out).toMatch(/^no-secret$/m);
    // bubblewrap's init, the launcher, script, the shell, and the pipeline's own few.
    const pids = Number(/^pids=(\d+)$/m.exec(out)?.[1]);
    expect(pids).toBeGreaterThan(2);
    expect(pids).toBeLessThan(12);
    tmux('send-keys', '-t', 'boxed', 'exit 4', 'Enter');
    expect(await statusOf(status)).toBe(4);
  });
});

/** main.js when it has the command, else a temporary entry registering it (written to `where`). */
function cliEntry(where: string): string {
  try {
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 10_000 });
    if (/^\s+shell\b/m.test(help)) return CLI;
  } catch {
    /* no main yet */
  }
  const file = join(where, 'plugin-run-entry.mjs');
  const root = join(CLI, '..');
  writeFileSync(
    file,
    [
      `import { Command } from ${JSON.stringify(join(root, '../../../../node_modules/commander/index.js'))};`,
      `import { registerShell } from ${JSON.stringify(join(root, 'commands/shell.js'))};`,
      `const program = new Command('plugin-run').exitOverride();`,
      `registerShell(program);`,
      `try { await program.parseAsync(process.argv); } catch (e) { process.exitCode = e.exitCode === 0 ? 0 : 2; }`,
    ].join('\n'),
  );
  return file;
}
