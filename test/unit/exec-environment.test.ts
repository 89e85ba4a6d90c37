// Unit tests of the command environment (packages/worker/src/exec/build-environment.ts), the
// driver command lines and the limit wrapper (drivers.ts), and the shell's rc file (shell-rc.ts):
// pure functions, no process is started.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PATH,
  EnvironmentError,
  MAX_ARG_STRLEN,
  argMax,
  buildEnvironment,
  envSuffix,
  execSize,
  fitEnvironment,
} from '../../packages/worker/src/exec/build-environment.js';
import {
  BASH_FLAGS,
  INLINE_SCRIPT_MAX,
  SH_FLAGS,
  driverCommand,
  findProgram,
  resolveProgram,
  shellQuote,
  wrapCommand,
} from '../../packages/worker/src/exec/drivers.js';
import { interactiveShell, ptyCommand, shellRc } from '../../packages/worker/src/exec/shell-rc.js';

const base = { env: {}, cwd: '/ws/pkg', workspaceRoot: '/ws', scratchDir: '/scratch' };

describe('buildEnvironment', () => {
  it('starts from nothing but PATH (the default) and WORKSPACE_ROOT', () => {
    const plan = buildEnvironment(base);
    expect(plan.env).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', WORKSPACE_ROOT: '/ws' });
    expect(DEFAULT_PATH).toEqual(['/usr/local/bin', '/usr/bin', '/bin']);
    expect(plan.binDir).toBeUndefined();
    expect(plan.links).toEqual([]);
    expect(plan.files).toEqual([]);
    expect(plan.outputs).toEqual([]);
  });

  it('sets env literals as given', () => {
    const plan = buildEnvironment({ ...base, env: { A: '1', EMPTY: '', SPACED: 'a b  c', 'lower.dot': 'x' } });
    expect(plan.env).toMatchObject({ A: '1', EMPTY: '', SPACED: 'a b  c', 'lower.dot': 'x' });
  });

  it('replaces PATH with the override, else with an env PATH, else the default', () => {
    expect(buildEnvironment({ ...base, path: ['/opt/a', '/opt/b'] }).env.PATH).toBe('/opt/a:/opt/b');
    expect(buildEnvironment({ ...base, env: { PATH: '/x:/y' } }).env.PATH).toBe('/x:/y');
    expect(buildEnvironment({ ...base, env: { PATH: '/x' }, path: ['/z'] }).env.PATH).toBe('/z');
    expect(buildEnvironment({ ...base, path: [] }).env.PATH).toBe('');
  });

  it('puts tools first on PATH through a bin dir, with TOOL and TOOL_<NAME>', () => {
    const plan = buildEnvironment({ ...base, path: ['/opt/bin'], tools: { 'my-tool': '/usr/bin/true', go: '../bin/go' } });
    expect(plan.binDir).toBe('/scratch/bin');
    expect(plan.env.PATH).toBe('/scratch/bin:/opt/bin');
    expect(plan.env.TOOL_MY_TOOL).toBe('/usr/bin/true');
    expect(plan.env.TOOL_GO).toBe('/ws/bin/go');
    expect(plan.env.TOOL).toBe('/usr/bin/true /ws/bin/go');
    expect(plan.links).toEqual([
      { name: 'my-tool', link: '/scratch/bin/my-tool', target: '/usr/bin/true' },
      { name: 'go', link: '/scratch/bin/go', target: '/ws/bin/go' },
    ]);
  });

  it('refuses tool names that are not file names, and names that collide', () => {
    expect(() => buildEnvironment({ ...base, tools: { 'a/b': '/bin/true' } })).toThrow(EnvironmentError);
    expect(() => buildEnvironment({ ...base, tools: { '..': '/bin/true' } })).toThrow(EnvironmentError);
    expect(() => buildEnvironment({ ...base, tools: { 'a-b': '/bin/true', a_b: '/bin/false' } })).toThrow(/TOOL_A_B/);
  });

  it('gives deps as SRC and SRC_<GROUP>, with LIST_SRC files one path a line', () => {
    const flat = buildEnvironment({ ...base, deps: ['a.c', '/abs/b.c'] });
    expect(flat.env.SRC).toBe('/ws/pkg/a.c /abs/b.c');
    expect(flat.env.LIST_SRC).toBe('/scratch/list_src');
    expect(flat.files).toEqual([{ path: '/scratch/list_src', content: '/ws/pkg/a.c\n/abs/b.c\n' }]);

    const grouped = buildEnvironment({ ...base, deps: { headers: ['x.h'], 'c-files': ['x.c', 'y.c'] } });
    expect(grouped.env.SRC_HEADERS).toBe('/ws/pkg/x.h');
    expect(grouped.env.SRC_C_FILES).toBe('/ws/pkg/x.c /ws/pkg/y.c');
    expect(grouped.env.SRC).toBe('/ws/pkg/x.h /ws/pkg/x.c /ws/pkg/y.c');
    expect(grouped.env.LIST_SRC_C_FILES).toBe('/scratch/list_src_c_files');
    expect(grouped.files).toContainEqual({ path: '/scratch/list_src_c_files', content: '/ws/pkg/x.c\n/ws/pkg/y.c\n' });
    expect(grouped.files).toContainEqual({ path: '/scratch/list_src', content: '/ws/pkg/x.h\n/ws/pkg/x.c\n/ws/pkg/y.c\n' });
  });

  it('gives outputs as OUT and OUT_<GROUP>, their directories to create', () => {
    const plan = buildEnvironment({ ...base, out: { bin: ['out/app'], docs: ['site/'] } });
    expect(plan.env.OUT_BIN).toBe('/ws/pkg/out/app');
    expect(plan.env.OUT_DOCS).toBe('/ws/pkg/site');
    expect(plan.env.OUT).toBe('/ws/pkg/out/app /ws/pkg/site');
    expect(plan.directories.sort()).toEqual(['/ws/pkg/out', '/ws/pkg/site']);
    expect(plan.outputs).toEqual([
      { path: '/ws/pkg/out/app', directory: false },
      { path: '/ws/pkg/site', directory: true },
    ]);
    expect(buildEnvironment({ ...base, out: ['a/b/c.txt'] }).env.OUT).toBe('/ws/pkg/a/b/c.txt');
  });

  it('refuses a literal that shadows a variable airlock sets', () => {
    expect(() => buildEnvironment({ ...base, env: { WORKSPACE_ROOT: '/elsewhere' } })).toThrow(/WORKSPACE_ROOT/);
    expect(() => buildEnvironment({ ...base, env: { SRC: 'x' }, deps: ['a'] })).toThrow(/env\.SRC/);
    // Not a collision when airlock does not set it.
    expect(buildEnvironment({ ...base, env: { SRC: 'x' } }).env.SRC).toBe('x');
  });

  it('refuses names with = and values with NUL', () => {
    expect(() => buildEnvironment({ ...base, env: { 'A=B': '1' } })).toThrow(EnvironmentError);
    expect(() => buildEnvironment({ ...base, env: { A: 'x\0y' } })).toThrow(/NUL/);
    expect(() => buildEnvironment({ ...base, path: ['/a:b'] })).toThrow(/':'/);
  });

  it('names every suffix in upper case with underscores', () => {
    expect(envSuffix('my-tool.v2')).toBe('MY_TOOL_V2');
  });
});

describe('fitEnvironment (E2BIG)', () => {
  it('leaves an environment that fits alone', () => {
    const env = { PATH: '/bin', A: 'x' };
    expect(fitEnvironment(env, ['/bin/true'], argMax(8 * 1024 * 1024))).toEqual({ env, warnings: [], fits: true });
  });

  it('drops a variable longer than one string may be, with a warning', () => {
    const env = { PATH: '/bin', HUGE: 'x'.repeat(MAX_ARG_STRLEN), SMALL: 'y' };
    const fitted = fitEnvironment(env, ['/bin/true'], argMax(8 * 1024 * 1024));
    expect(fitted.env).toEqual({ PATH: '/bin', SMALL: 'y' });
    expect(fitted.warnings).toHaveLength(1);
    expect(fitted.warnings[0]).toMatch(/\$HUGE/);
    expect(fitted.fits).toBe(true);
  });

  it('drops SRC lists first (their LIST_SRC files stay), then the largest, until the total fits', () => {
    const limit = argMax(8 * 1024 * 1024); // 2 MiB
    const chunk = 'p'.repeat(100_000);
    const env: Record<string, string> = { PATH: '/bin', WORKSPACE_ROOT: '/ws', LIST_SRC: '/s/list_src', SRC: chunk, KEEP_ME: 'small' };
    for (let i = 0; i < 24; i += 1) env[`BIG_${i}`] = chunk.slice(0, 90_000 + i);
    expect(execSize([], env)).toBeGreaterThan(limit);
    const fitted = fitEnvironment(env, ['/bin/true'], limit);
    expect(fitted.fits).toBe(true);
    expect(execSize(['/bin/true'], fitted.env)).toBeLessThanOrEqual(limit);
    expect(fitted.env.SRC).toBeUndefined();
    expect(fitted.warnings[0]).toMatch(/^\$SRC .*LIST_SRC/);
    // The largest of the rest went next; the small and the essential ones stay.
    expect(fitted.env.BIG_23).toBeUndefined();
    expect(fitted.env.BIG_22).toBeDefined();
    expect(fitted.env.BIG_0).toBeDefined();
    expect(fitted.env).toMatchObject({ PATH: '/bin', WORKSPACE_ROOT: '/ws', LIST_SRC: '/s/list_src', KEEP_ME: 'small' });
  });

  it('says when arguments alone cannot fit', () => {
    expect(fitEnvironment({ PATH: '/bin' }, ['x'.repeat(MAX_ARG_STRLEN)], argMax(undefined)).fits).toBe(false);
  });

  it('computes the kernel limit from the stack limit', () => {
    expect(argMax(8 * 1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(argMax(undefined)).toBe(6 * 1024 * 1024);
    expect(argMax(0xffffffffffffffffn)).toBe(6 * 1024 * 1024);
    expect(argMax(64 * 1024)).toBe(128 * 1024);
  });
});

describe('drivers', () => {
  it('exec passes argv untouched', () => {
    const argv = ['printf', '%s\n', 'a b', '$HOME', '*', ''];
    expect(driverCommand('exec', argv, '/s/script')).toEqual({ program: 'printf', argv, fallback: false });
  });

  it('bash runs with --noprofile --norc -o pipefail -u -e -c', () => {
    expect(BASH_FLAGS).toEqual(['--noprofile', '--norc', '-o', 'pipefail', '-u', '-e']);
    expect(driverCommand('bash', 'echo hi', '/s/script').argv).toEqual(['bash', '--noprofile', '--norc', '-o', 'pipefail', '-u', '-e', '-c', 'echo hi']);
    expect(driverCommand('bash', ['echo', 'a', 'b'], '/s/script').argv.at(-1)).toBe('echo a b');
  });

  it('sh runs with -u -e -c', () => {
    expect(SH_FLAGS).toEqual(['-u', '-e']);
    expect(driverCommand('sh', 'echo hi', '/s/script').argv).toEqual(['sh', '-u', '-e', '-c', 'echo hi']);
  });

  it('a long body goes through a script file', () => {
    const body = `echo start\n${'#'.repeat(INLINE_SCRIPT_MAX)}\necho end`;
    const command = driverCommand('bash', body, '/s/script.bash');
    expect(command.argv).toEqual(['bash', ...BASH_FLAGS, '/s/script.bash']);
    expect(command.script).toEqual({ path: '/s/script.bash', content: body });
  });

  it('finds programs as execvp does', () => {
    const files = new Set(['/a/tool', '/b/tool', '/b/only-b', '/ws/rel/x', '/usr/bin/bash']);
    const exists = (path: string) => files.has(path);
    expect(findProgram('tool', '/a:/b', '/ws', exists)).toBe('/a/tool');
    expect(findProgram('only-b', '/a:/b', '/ws', exists)).toBe('/b/only-b');
    expect(findProgram('rel/x', '/a', '/ws', exists)).toBe('/ws/rel/x');
    expect(findProgram('missing', '/a:/b', '/ws', exists)).toBeUndefined();
    // The shells are found outside the command's PATH too; argv[0] of exec is not.
    expect(resolveProgram({ program: 'bash', fallback: true }, '/nowhere', '/ws', exists)).toBe('/usr/bin/bash');
    expect(resolveProgram({ program: 'bash', fallback: false }, '/nowhere', '/ws', exists)).toBeUndefined();
  });
});

describe('wrapCommand', () => {
  const tools = { setpriv: '/usr/bin/setpriv', prlimit: '/usr/bin/prlimit', sh: '/bin/sh' };

  it('runs the program directly when there is nothing to wrap', () => {
    expect(wrapCommand('/usr/bin/printf', ['printf', 'x'], {}, {}, { keepArgv0: true })).toEqual({ file: '/usr/bin/printf', args: ['x'], argv0: 'printf' });
  });

  it('dies with its parent (setpriv --pdeathsig) and gets its limits from prlimit', () => {
    const line = wrapCommand('/usr/bin/printf', ['printf', 'x'], { memoryBytes: 1 << 20, cpuMs: 1500, maxOpenFiles: 10 }, tools, { keepArgv0: true });
    expect(line.file).toBe('/usr/bin/setpriv');
    expect(line.args).toEqual(['--pdeathsig', 'KILL', '--', '/usr/bin/prlimit', '--data=1048576', '--cpu=2:3', '--nofile=13', '--', 'printf', 'x']);
  });

  it('gives the shells by their resolved path', () => {
    const line = wrapCommand('/usr/bin/bash', ['bash', '-c', 'x'], { memoryBytes: 4096 }, { prlimit: tools.prlimit });
    expect(line.args).toEqual(['--data=4096', '--', '/usr/bin/bash', '-c', 'x']);
  });

  it('falls back to sh ulimit without prlimit', () => {
    const line = wrapCommand('/bin/x', ['x', 'a'], { memoryBytes: 1 << 20, cpuMs: 200 }, { sh: '/bin/sh' }, { keepArgv0: true });
    expect(line).toEqual({ file: '/bin/sh', args: ['-c', 'ulimit -d 1024 && ulimit -t 1 && exec "$0" "$@"', 'x', 'a'], argv0: '/bin/sh' });
  });

  it('quotes words for sh', () => {
    expect(shellQuote('plain/path-1.2')).toBe('plain/path-1.2');
    expect(shellQuote("it's a b")).toBe(`'it'\\''s a b'`);
  });
});

describe('shell rc', () => {
  it('defines run, xrun and show for a command, with the driver flags', () => {
    const rc = shellRc('bash', 'make all');
    expect(rc).toContain('run() (\n  set -euo pipefail\nmake all\n)');
    expect(rc).toContain('xrun() (\n  set -euxo pipefail\nmake all\n)');
    expect(rc).toContain("cat <<'AIRLOCK_EOF'\nmake all\nAIRLOCK_EOF");
    const sh = shellRc('sh', 'make');
    expect(sh).toContain('unset ENV');
    expect(sh).toContain('run() (\n  set -eu\nmake\n)');
    expect(shellRc('bash', '')).not.toContain('run()');
    expect(shellRc('bash', 'echo x\nAIRLOCK_EOF')).toContain("<<'AIRLOCK_EOF_1'");
  });

  it('starts the shell interactive on a PTY through script', () => {
    expect(interactiveShell('bash', '/bin/bash', '/s/rc')).toEqual({ argv: ['/bin/bash', '--noprofile', '--rcfile', '/s/rc', '-i'], env: {} });
    expect(interactiveShell('sh', '/bin/sh', '/s/rc')).toEqual({ argv: ['/bin/sh', '-i'], env: { ENV: '/s/rc' } });
    expect(ptyCommand('/usr/bin/script', ['/bin/bash', '--rcfile', '/s/my rc', '-i'])).toEqual([
      '/usr/bin/script', '-q', '-e', '-c', "exec /bin/bash --rcfile '/s/my rc' -i", '/dev/null',
    ]);
  });
});
