// host.exec and plugin-run exec with real processes: heph's drivers (exec, bash, sh), the
// environment built from nothing, the results and failures, and the limits — every stop must
// leave no process behind (checked by a unique `sleep 98x` marker per test).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError, createHost, type Host } from '@airlock/host';
import { CLI, eventually, processesMatching, failure } from '../helpers/fixtures.js';

let host: Host;
let dir: string;

beforeAll(() => {
  host = createHost({ workers: 2 });
  dir = mkdtempSync(join(tmpdir(), 'airlock-exec-test-'));
});
afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});


/** The variables of an `env` listing (`NAME=value` lines). */
function names(listing: string): string[] {
  return listing
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => line.slice(0, line.indexOf('=')))
    .sort();
}

describe('the environment', () => {
  it('starts empty: nothing of the caller leaks unless passed', async () => {
    process.env.AIRLOCK_TEST_SECRET = 'do-not-leak';
    try {
      const bare = await host.exec({ driver: 'exec', run: ['env'] });
      expect(names(bare.stdout)).toEqual(['PATH', 'WORKSPACE_ROOT']);
      expect(bare.stdout).not.toContain('do-not-leak');
      const passed = await host.exec({ driver: 'exec', run: ['env'], passEnv: ['AIRLOCK_TEST_SECRET', 'AIRLOCK_TEST_ABSENT'], env: { GREETING: 'hello world', EMPTY: '' } });
      expect(names(passed.stdout)).toEqual(['AIRLOCK_TEST_SECRET', 'EMPTY', 'GREETING', 'PATH', 'WORKSPACE_ROOT']);
      expect(passed.stdout).toContain('AIRLOCK_TEST_SECRET=do-not-leak\n');
      expect(passed.stdout).toContain('GREETING=hello world\n');
    } finally {
      delete process.env.AIRLOCK_TEST_SECRET;
    }
  });

  it('has the default PATH, or the override', async () => {
    expect((await host.exec({ run: ['printenv', 'PATH'] })).stdout).toBe('/usr/local/bin:/usr/bin:/bin\n');
    expect((await host.exec({ run: 'echo "$PATH"', path: ['/usr/bin', '/bin'] })).stdout).toBe('/usr/bin:/bin\n');
    const missing = await failure(host.exec({ run: ['ls'], path: [join(dir, 'nowhere')] }));
    expect(missing).toMatchObject({ code: 'PLUGIN_ERROR', exitCode: 127 });
    expect(missing.message).toContain(`PATH=${join(dir, 'nowhere')}`);
    const inScript = await failure(host.exec({ run: 'airlock-no-such-command --flag' }));
    expect(inScript).toMatchObject({ code: 'PLUGIN_ERROR', exitCode: 127 });
    expect(inScript.message).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(inScript.output?.join('\n')).toContain('airlock-no-such-command');
  });

  it('puts tools first on PATH, as TOOL and TOOL_<NAME>', async () => {
    const tool = join(dir, 'greeter.sh');
    writeFileSync(tool, '#!/bin/sh\necho "greetings from $(basename "$0") $*"\n');
    chmodSync(tool, 0o755);
    const result = await host.exec({ run: 'greet a b; echo "$TOOL_GREET"; echo "$TOOL"; command -v greet; echo "$PATH"', tools: { greet: tool } });
    const [line, toolVar, all, found, path] = result.stdout.trim().split('\n');
    expect(line).toBe('greetings from greet a b');
    expect(toolVar).toBe(tool);
    expect(all).toBe(tool);
    expect(found).toMatch(/\/bin\/greet$/);
    expect(path).toMatch(/\/bin:\/usr\/local\/bin:\/usr\/bin:\/bin$/);
    // A bare tool name is looked up on the caller's PATH.
    expect((await host.exec({ run: 'mycat <<< hi', tools: { mycat: 'cat' } })).stdout).toBe('hi\n');
    expect((await failure(host.exec({ run: 'true', tools: { x: 'airlock-no-such-tool' } }))).code).toBe('INVALID_ARGUMENT');
  });

  it('gives deps as SRC, SRC_<GROUP> and LIST_SRC files; WORKSPACE_ROOT and the cwd', async () => {
    const result = await host.exec({
      run: 'echo "$SRC"; echo "$SRC_HEADERS"; cat "$LIST_SRC"; cat "$LIST_SRC_C_FILES"; echo "$WORKSPACE_ROOT"; pwd',
      deps: { headers: ['a.h'], 'c-files': ['a.c', 'b.c'] },
      workspaceRoot: dir,
      cwd: '.',
    });
    const root = dir;
    expect(result.stdout.split('\n')).toEqual([
      `${root}/a.h ${root}/a.c ${root}/b.c`,
      `${root}/a.h`,
      `${root}/a.h`,
      `${root}/a.c`,
      `${root}/b.c`,
      `${root}/a.c`,
      `${root}/b.c`,
      root,
      realpathSync(root),
      '',
    ]);
  });

  it('writes $OUT files: parent directories created, outputs reported with their sizes', async () => {
    const result = await host.exec({
      run: 'set -- $OUT_BIN; printf 12345 > "$1"; mkdir -p "$OUT_SITE"; printf abc > "$OUT_SITE/index.html"; echo "$OUT"',
      out: { bin: ['build/deep/app.bin', 'build/never-written'], site: ['site/'] },
      cwd: dir,
    });
    expect(readFileSync(join(dir, 'build/deep/app.bin'), 'utf8')).toBe('12345');
    expect(result.outputs).toEqual([
      { path: join(dir, 'build/deep/app.bin'), size: 5 },
      { path: join(dir, 'site'), size: 3 },
    ]);
    expect(result.stdout).toBe(`${join(dir, 'build/deep/app.bin')} ${join(dir, 'build/never-written')} ${join(dir, 'site')}\n`);
  });

  it('trims an environment too large for the kernel with a warning instead of failing with E2BIG', async () => {
    const deps = Array.from({ length: 40_000 }, (_, i) => `/very/long/path/to/some/dependency/directory/file-number-${i}.txt`);
    const result = await host.exec({ run: 'echo "${SRC:-trimmed}"; wc -l < "$LIST_SRC"', deps });
    expect(result.stdout).toBe('trimmed\n40000\n');
    expect(result.warnings?.[0]).toMatch(/\$SRC .*LIST_SRC/);
  });

  it('reads stdin from the spec, else /dev/null', async () => {
    expect((await host.exec({ run: 'tr a-z A-Z', stdin: 'hello\n' })).stdout).toBe('HELLO\n');
    expect((await host.exec({ run: 'cat; echo eof' })).stdout).toBe('eof\n');
  });

  it('refuses unknown keys and a string for driver exec, naming them', async () => {
    const unknown = await failure(host.exec({ run: 'true', timeout: 5 } as never));
    expect(unknown.code).toBe('INVALID_ARGUMENT');
    expect(unknown.message).toContain('"timeout"');
    const stringExec = await failure(host.exec({ driver: 'exec', run: 'ls -l' }));
    expect(stringExec.code).toBe('INVALID_ARGUMENT');
    expect(stringExec.message).toContain('argv');
  });
});

describe('drivers', () => {
  it('exec passes argv untouched (no shell)', async () => {
    const args = ['a b', '$HOME', '*', '"quoted"', "it's", '', '; rm -rf /'];
    const result = await host.exec({ driver: 'exec', run: ['printf', '[%s]\\n', ...args] });
    expect(result.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
  });

  it('bash has pipefail, nounset and errexit', async () => {
    const pipe = await failure(host.exec({ driver: 'bash', run: 'false | true; echo after' }));
    expect(pipe).toMatchObject({ code: 'PLUGIN_ERROR', exitCode: 1 });
    expect(pipe.output).not.toContain('after');
    const unset = await failure(host.exec({ driver: 'bash', run: 'echo "$AIRLOCK_UNSET_VARIABLE"; echo after' }));
    expect(unset.exitCode).toBe(1);
    expect(unset.output?.join('\n')).toMatch(/AIRLOCK_UNSET_VARIABLE: unbound variable/);
    expect((await host.exec({ driver: 'bash', run: '[[ -n "${BASH_VERSION}" ]] && echo bash' })).stdout).toBe('bash\n');
    // A long body goes through a script file.
    const long = await host.exec({ driver: 'bash', run: `echo start\n${'# filler line\n'.repeat(10_000)}echo end` });
    expect(long.stdout).toBe('start\nend\n');
  });

  it('sh is POSIX sh with nounset and errexit', async () => {
    const unset = await failure(host.exec({ driver: 'sh', run: 'echo "$AIRLOCK_UNSET_VARIABLE"; echo after' }));
    expect(unset.code).toBe('PLUGIN_ERROR');
    expect(unset.output).not.toContain('after');
    expect((await failure(host.exec({ driver: 'sh', run: 'false; echo after' }))).exitCode).toBe(1);
    expect((await host.exec({ driver: 'sh', run: 'if [ 1 = 1 ]; then echo posix; fi' })).stdout).toBe('posix\n');
    const sh = realpathSync('/bin/sh');
    if (!sh.endsWith('/bash')) {
      // dash (Debian, Ubuntu) or busybox: bash-isms are errors.
      const bashism = await failure(host.exec({ driver: 'sh', run: '[[ 1 == 1 ]] && echo bash' }));
      expect(bashism.code).toBe('PLUGIN_ERROR');
      expect((await host.exec({ driver: 'sh', run: 'echo "${BASH_VERSION:-not bash}"' })).stdout).toBe('not bash\n');
    }
  });
});

describe('results and failures', () => {
  it('resolves to exitCode 0, stdout, stderr and outputs; /dev/stderr works (real pipes)', async () => {
    const result = await host.exec({ run: 'echo out; echo err >&2; echo via-dev > /dev/stderr' });
    expect(result).toEqual({ exitCode: 0, stdout: 'out\n', stderr: 'err\nvia-dev\n', outputs: [] });
  });

  it('reports exit 3 as PLUGIN_ERROR with exitCode 3 and the log tail', async () => {
    const error = await failure(host.exec({ run: 'for i in $(seq 1 30); do echo line-$i; done; echo oops >&2; exit 3' }));
    expect(error.code).toBe('PLUGIN_ERROR');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('status 3');
    expect(error.output?.length).toBe(20);
    expect(error.output?.slice(-2)).toEqual(['line-30', 'oops']);
  });

  it('reports a command killed by a signal', async () => {
    const error = await failure(host.exec({ run: 'kill -SEGV $$' }));
    expect(error).toMatchObject({ code: 'PLUGIN_ERROR', exitCode: 139, signal: 'SIGSEGV' });
  });

  it('kills what the command left running when it exits, and survives `kill 0`', async () => {
    expect((await host.exec({ run: 'sleep 986 & echo started' })).stdout).toBe('started\n');
    expect(await eventually(() => processesMatching('sleep 986').length === 0, 3000)).toBe(true);
    const pids = host.workerPids;
    const killed = await failure(host.exec({ run: 'sleep 5 & kill 0' }));
    expect(killed).toMatchObject({ code: 'PLUGIN_ERROR', signal: 'SIGTERM' });
    expect((await host.exec({ run: 'echo still here' })).stdout).toBe('still here\n');
    expect(host.workerPids.some((pid) => pids.includes(pid))).toBe(true);
  });
});

describe('limits', () => {
  it('a timeout stops the command within seconds and leaves no process, grandchildren included', async () => {
    const started = Date.now();
    const error = await failure(host.exec({ run: 'sleep 987 & (sleep 987 &); setsid sleep 987 & sleep 987', timeoutMs: 500 }));
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await eventually(() => processesMatching('sleep 987').length === 0, 3000)).toBe(true);
  });

  it('a memory limit stops a command', async () => {
    const tail = await failure(host.exec({ driver: 'exec', run: ['tail', '-n', '1', '/dev/zero'], memoryBytes: 64 << 20, timeoutMs: 10_000 }));
    expect(tail).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'memory' });
    const bash = await failure(host.exec({ run: 'x=$(head -c 300000000 /dev/zero | tr "\\0" a); echo ${#x}', memoryBytes: 64 << 20, timeoutMs: 10_000 }));
    expect(bash).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'memory' });
    // The same commands run without the limit's budget problems when it is large enough.
    expect((await host.exec({ run: 'head -c 1000000 /dev/zero | wc -c', memoryBytes: 256 << 20 })).stdout.trim()).toBe('1000000');
  });

  it('a CPU limit stops a busy command (all its processes count)', async () => {
    const started = Date.now();
    const error = await failure(host.exec({ run: 'while :; do :; done & while :; do :; done', cpuMs: 400, timeoutMs: 10_000 }));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'cpu' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('the output and process limits act as for calls, and leave no process', async () => {
    const output = await failure(host.exec({ run: 'sleep 988 & yes', maxOutputBytes: 100_000 }));
    expect(output).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'output' });
    const processes = await failure(host.exec({ run: 'for i in 1 2 3 4 5 6 7 8; do sleep 988 & done; wait', maxProcesses: 4 }));
    expect(processes).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'processes' });
    expect(await eventually(() => processesMatching('sleep 988').length === 0 && processesMatching(' yes').length === 0, 3000)).toBe(true);
  });

  it('an open-files limit applies to the command', async () => {
    const error = await failure(host.exec({ run: 'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null; echo opened', maxOpenFiles: 2 }));
    expect(error.code).toBe('PLUGIN_ERROR');
    expect(error.output?.join('\n')).toMatch(/Too many open files/);
  });

  it('cancelling kills the command', async () => {
    const controller = new AbortController();
    const running = host.exec({ run: 'sleep 989', signal: controller.signal });
    await eventually(() => processesMatching('sleep 989').length > 0, 5000);
    controller.abort();
    expect((await failure(running)).code).toBe('CANCELLED');
    expect(await eventually(() => processesMatching('sleep 989').length === 0, 3000)).toBe(true);
  });

  it('closing the host kills a running command', async () => {
    const own = createHost();
    const running = own.exec({ run: 'sleep 990 & sleep 990' }).catch(() => undefined);
    await eventually(() => processesMatching('sleep 990').length >= 2, 5000);
    await own.close();
    await running;
    expect(await eventually(() => processesMatching('sleep 990').length === 0, 3000)).toBe(true);
  });
});

describe('plugin-run exec', () => {
  /** The CLI entry: main.js once it registers `exec`, else a tiny entry calling registerExec. */
  let entry: string;
  beforeAll(() => {
    entry = cliEntry(dir);
  });

  function run(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 20_000, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input !== undefined && { input }) });
      return { status: 0, stdout, stderr: '' };
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      return { status: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('prints the output and exits 0', () => {
    const result = run(['exec', '--env', 'NAME=world', '--', 'echo "hello $NAME"']);
    expect(result).toMatchObject({ status: 0, stdout: 'hello world\n' });
  });

  it("exits with the command's own status (PLUGIN_ERROR on stderr), 128+N for its own signal, airlock's codes for airlock's decisions", () => {
    const result = run(['exec', '--', 'echo before; exit 3']);
    expect(result.status).toBe(3);
    expect(result.stdout).toBe('before\n');
    expect(result.stderr).toContain('PLUGIN_ERROR');
    expect(result.stderr).toContain('exit status 3');
    expect(run(['exec', '--driver', 'exec', '--', 'sh', '-c', 'exit 3']).status).toBe(3);
    const json = run(['exec', '--json', '--driver', 'exec', '--', 'sh', '-c', 'exit 42']);
    expect(json.status).toBe(42);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'PLUGIN_ERROR', exitCode: 42 } });
    expect(run(['exec', '--driver', 'exec', '--', 'sh', '-c', 'kill -TERM $$']).status).toBe(128 + 15);
    // A timeout is airlock's decision: its own code (4), not the command's.
    expect(run(['exec', '--timeout', '200ms', '--', 'sleep 993']).status).toBe(4);
  });

  it("passes its own stdin to the command when it is not a terminal, or --stdin FILE", () => {
    expect(run(['exec', '--', 'cat'], 'hi\n')).toMatchObject({ status: 0, stdout: 'hi\n' });
    expect(run(['exec', '--driver', 'exec', '--', 'wc', '-l'], 'a\nb\nc\n').stdout.trim()).toBe('3');
    const file = join(dir, 'stdin.txt');
    writeFileSync(file, 'from a file\n');
    expect(run(['exec', '--stdin', file, '--', 'cat'], 'ignored\n')).toMatchObject({ status: 0, stdout: 'from a file\n' });
    expect(run(['exec', '--stdin', '/dev/null', '--', 'cat'], 'ignored\n')).toMatchObject({ status: 0, stdout: '' });
    const missing = run(['exec', '--stdin', join(dir, 'nope.txt'), '--', 'cat']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`INVALID_ARGUMENT: Cannot read --stdin "${join(dir, 'nope.txt')}": ENOENT`);
    // stdin closed (/dev/null, as here): the command reads nothing.
    expect(run(['exec', '--', 'cat'])).toMatchObject({ status: 0, stdout: '' });
  });

  it('--json prints one object; --driver exec passes argv; limits apply', () => {
    const ok = run(['exec', '--json', '--driver', 'exec', '--', 'printf', '%s|', 'a b', '$X']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, result: { exitCode: 0, stdout: 'a b|$X|' } });
    const timeout = run(['exec', '--timeout', '300ms', '--', 'sleep 991']);
    expect(timeout.status).toBe(4);
    expect(processesMatching('sleep 991')).toEqual([]);
    const usage = run(['exec', '--env', 'NOEQUALS', '--', 'true']);
    expect(usage.status).toBe(2);
  });
});

/** main.js when it has the command, else a temporary entry registering it (written to `dir`). */
function cliEntry(where: string): string {
  try {
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 10_000 });
    if (/^\s+exec\b/m.test(help) && /^\s+shell\b/m.test(help)) return CLI;
  } catch {
    /* no main yet */
  }
  const entry = join(where, 'plugin-run-entry.mjs');
  const root = join(CLI, '..');
  writeFileSync(
    entry,
    [
      `import { Command } from ${JSON.stringify(join(root, '../../../../node_modules/commander/index.js'))};`,
      `import { registerExec } from ${JSON.stringify(join(root, 'commands/exec.js'))};`,
      `import { registerShell } from ${JSON.stringify(join(root, 'commands/shell.js'))};`,
      `const program = new Command('plugin-run').exitOverride();`,
      `registerExec(program); registerShell(program);`,
      `try { await program.parseAsync(process.argv); } catch (e) { process.exitCode = e.exitCode === 0 ? 0 : 2; }`,
    ].join('\n'),
  );
  return entry;
}

describe('a worker killed from outside during a command', () => {
  it('takes the command group with it: CRASHED / SIGKILL and no process left', async () => {
    const local = createHost();
    try {
      const running = local.exec({ driver: 'bash', run: 'sleep 9871 & sleep 9872; wait', timeoutMs: 20_000 });
      expect(await eventually(() => processesMatching('sleep 9871').length > 0 && local.workerPids.length === 1, 10_000)).toBe(true);
      process.kill(local.workerPids[0]!, 'SIGKILL');
      const error = await running.then(() => undefined, (e: unknown) => e as AirlockError);
      expect(error).toBeInstanceOf(AirlockError);
      expect(error).toMatchObject({ code: 'CRASHED', signal: 'SIGKILL' });
      expect(await eventually(() => processesMatching('sleep 987').length === 0, 5_000)).toBe(true);
      expect((await local.exec({ driver: 'exec', run: ['/bin/echo', 'next'] })).stdout).toBe('next\n');
    } finally {
      await local.close();
    }
  });
});
