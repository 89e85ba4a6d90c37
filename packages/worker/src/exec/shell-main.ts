#!/usr/bin/env node
// The launcher of `plugin-run shell`: started by the CLI with the terminal as its stdio and the
// resolved spec in AIRLOCK_SHELL_PARAMS, it builds the same environment as `exec` (same module,
// same rules), applies the command limits to the shell (prlimit), and runs the shell on a real
// PTY through util-linux `script`. It exits with the shell's status.
//
// It is not a worker: an interactive session needs the caller's terminal, which a worker (whose
// stdio is the host's pipes) does not have. No koffi here: only pure modules and child_process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_CODES, ExecParamsSchema } from '@airlock/protocol';
import { EnvironmentError, argMax, buildEnvironment, fitEnvironment } from './build-environment.js';
import { findProgram, findWrapperTools, resolveProgram, scriptOf, wrapCommand } from './drivers.js';
import { materialize } from './materialize.js';
import { descendantsOf, readStackLimit, signal } from './process-tree.js';
import { interactiveShell, ptyCommand, shellRc } from './shell-rc.js';

interface ShellRequest {
  params: unknown;
  /** Ends the session after this many ms (only when asked for explicitly). */
  timeoutMs?: number;
}

function fail(code: keyof typeof EXIT_CODES, message: string): never {
  process.stderr.write(`plugin-run shell: ${code}: ${message}\n`);
  process.exit(EXIT_CODES[code]);
}

const request = JSON.parse(process.env.AIRLOCK_SHELL_PARAMS ?? 'null') as ShellRequest | null;
if (!request) fail('INVALID_ARGUMENT', 'AIRLOCK_SHELL_PARAMS is missing: this launcher is started by `plugin-run shell`');
const parsed = ExecParamsSchema.safeParse(request.params);
if (!parsed.success) fail('INVALID_ARGUMENT', `bad shell params: ${parsed.error.message}`);
const params = parsed.data;
if (params.driver === 'exec') fail('INVALID_ARGUMENT', "the shell's driver is bash or sh");
const driver = params.driver;

const workspaceRoot = resolve(params.workspaceRoot ?? params.cwd ?? process.cwd());
const cwd = resolve(workspaceRoot, params.cwd ?? '.');
if (!isDirectory(cwd)) fail('INVALID_ARGUMENT', `cwd ${cwd} is not a directory`);

const script = findProgram('script', '/usr/bin:/bin', '/');
if (!script) fail('UNAVAILABLE', 'plugin-run shell needs `script` from util-linux (Debian/Ubuntu: bsdutils, installed by default; Fedora: util-linux; Alpine: apk add util-linux-misc)');

const scratch = mkdtempSync(join(tmpdir(), 'airlock-shell-'));
const cleanup = () => rmSync(scratch, { recursive: true, force: true });
process.on('exit', cleanup);

let plan;
try {
  plan = buildEnvironment({ env: params.env, path: params.path, tools: params.tools, deps: params.deps, out: params.out, cwd, workspaceRoot, scratchDir: scratch });
  materialize(plan);
} catch (error) {
  if (error instanceof EnvironmentError) fail('INVALID_ARGUMENT', error.message);
  throw error;
}
const path = plan.env.PATH ?? '';
const program = resolveProgram({ program: driver, fallback: true }, path, cwd);
if (!program) fail('PLUGIN_ERROR', `${driver} not found (searched PATH=${path})`);

const rcFile = join(scratch, `rc.${driver}`);
writeFileSync(rcFile, shellRc(driver, scriptOf(params.run)), { mode: 0o600 });
const shell = interactiveShell(driver, program, rcFile);
const pty = ptyCommand(script, shell.argv);
// No setpriv --pdeathsig here: script must outlive nothing but its shell, and a script killed
// outright could not give the terminal its settings back.
const { memoryBytes, cpuMs, maxOpenFiles } = params.limits;
const tools = findWrapperTools();
const launch = wrapCommand(pty[0]!, pty, { memoryBytes, cpuMs, maxOpenFiles }, { prlimit: tools.prlimit, sh: tools.sh });
const fitted = fitEnvironment({ ...plan.env, ...shell.env }, [launch.file, ...launch.args], argMax(readStackLimit()));
for (const warning of fitted.warnings) process.stderr.write(`plugin-run shell: warning: ${warning}\n`);

// The terminal's signals belong to the shell (script has the terminal in raw mode, so ^C is a
// byte for the PTY); a hangup or a kill of this launcher is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGQUIT', () => undefined);
const child = spawn(launch.file, launch.args, { argv0: launch.argv0, env: fitted.env, cwd, stdio: 'inherit' });
for (const name of ['SIGTERM', 'SIGHUP'] as const) process.on(name, () => child.kill(name));

let timedOut = false;
if (request.timeoutMs !== undefined) {
  setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => {
      for (const pid of descendantsOf('self')) signal(pid);
    }, 1000).unref();
  }, request.timeoutMs).unref();
}

child.once('error', (error) => fail('UNAVAILABLE', `cannot start ${launch.file}: ${error.message}`));
child.once('exit', (code, killedBy) => {
  // What the shell left running (background jobs) goes with it.
  for (const pid of descendantsOf('self')) signal(pid);
  if (timedOut) fail('TIMEOUT', `the shell was ended after ${request.timeoutMs} ms`);
  process.exit(code ?? 128 + (killedBy ? (osConstants.signals[killedBy] ?? 15) : 15));
});

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
