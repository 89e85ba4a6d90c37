import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseResultJson } from '@airlock/host';
import { CLI, fixture, pluginRun } from '../helpers/fixtures.js';

describe('plugin-run call', () => {
  it('prints the result alone on stdout: cos(0) is 1', () => {
    const run = pluginRun(['call', 'libm.so.6', 'double cos(double)', '0']);
    expect(run).toMatchObject({ status: 0, stdout: '1\n' });
  });

  it('parses arguments by the declared types, negative numbers after --, 64-bit exactly', () => {
    expect(pluginRun(['call', 'libc.so.6', 'int abs(int)', '--', '-5']).stdout).toBe('5\n');
    const big = pluginRun(['call', fixture('types'), 'uint64_t add_u64(uint64_t, uint64_t)', '18446744073709551614', '1']);
    expect(big.stdout).toBe('18446744073709551615\n');
    const json = pluginRun(['call', '--json', fixture('types'), 'uint64_t add_u64(uint64_t, uint64_t)', '9223372036854775808', '1']);
    // Past 2^53 an integer is tagged, so that JSON.parse cannot round it; parseResultJson reads it back exactly.
    expect(json.stdout.trim()).toBe('{"ok":true,"result":{"$bigint":"9223372036854775809"}}');
    expect(parseResultJson(json.stdout)).toEqual({ ok: true, result: 2n ** 63n + 1n });
    const small = pluginRun(['call', '--json', fixture('types'), 'uint64_t add_u64(uint64_t, uint64_t)', '41', '1']);
    expect(JSON.parse(small.stdout)).toEqual({ ok: true, result: 42 });
    expect(pluginRun(['call', fixture('types'), 'char *str_upper(const char *s)', 'quiet']).stdout).toBe('QUIET\n');
  });

  it('exits 3 and reports CRASHED / SIGABRT for abort()', () => {
    const plain = pluginRun(['call', 'libc.so.6', 'void abort(void)']);
    expect(plain.status).toBe(3);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toContain('CRASHED');
    const json = pluginRun(['call', '--json', 'libc.so.6', 'void abort(void)']);
    expect(json.status).toBe(3);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; signal: string } };
    expect(parsed).toMatchObject({ ok: false, error: { code: 'CRASHED', signal: 'SIGABRT' } });
  });

  it('returns the result of a plugin that prints 200 fake Content-Length headers; its output goes to stderr', () => {
    const run = pluginRun(['call', fixture('hostile'), 'int print_fake_headers(int)', '200']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('42\n');
  });

  it('exits 6 for a missing library and a missing symbol, 2 for a bad argument or usage', () => {
    const missing = pluginRun(['call', './no-such-lib.so', 'int f(void)']);
    expect(missing.status).toBe(6);
    expect(missing.stderr).toContain('no-such-lib.so');
    const symbol = pluginRun(['call', 'libc.so.6', 'int airlock_no_such_symbol(void)']);
    expect(symbol.status).toBe(6);
    expect(symbol.stderr).toContain('airlock_no_such_symbol');
    const bad = pluginRun(['call', 'libc.so.6', 'int abs(int)', 'seven']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"seven"');
    expect(pluginRun(['call', '--timeout', 'soon', 'libc.so.6', 'int abs(int)', '1']).status).toBe(2);
    expect(pluginRun(['call', '--bogus', 'libc.so.6', 'int abs(int)', '1']).status).toBe(2);
    expect(pluginRun(['call', 'libc.so.6', 'int abs(int)', '1', '2']).status).toBe(2);
  });

  it('prints NaN, -0, infinities, bytes and pointers in tagged forms that JSON.parse cannot take for a number or a string', () => {
    const values = [
      [['libm.so.6', 'double log(double)', '--', '-1'], { $float: 'NaN' }, Number.NaN],
      [['libm.so.6', 'double copysign(double, double)', '0', '--', '-1'], { $float: '-0' }, -0],
      [['libm.so.6', 'double log(double)', '0'], { $float: '-Infinity' }, Number.NEGATIVE_INFINITY],
      [['libc.so.6', 'char *strerror(int)', '2'], 'No such file or directory', 'No such file or directory'],
    ] as const;
    for (const [args, tagged, exact] of values) {
      const run = pluginRun(['call', '--json', ...args]);
      expect(JSON.parse(run.stdout).result).toEqual(tagged);
      expect((parseResultJson(run.stdout) as { result: unknown }).result).toBe(exact);
    }
    const pointer = pluginRun(['call', '--json', fixture('types'), 'void *counter_new(int)', '5']);
    const parsed = JSON.parse(pointer.stdout).result as { $pointer: string; workerPid: number };
    expect(parsed.$pointer).toMatch(/^0x[0-9a-f]+$/);
    expect(parsed.workerPid).toBeGreaterThan(0);
    expect((parseResultJson(pointer.stdout) as { result: unknown }).result).toEqual({ address: BigInt(parsed.$pointer), workerPid: parsed.workerPid });
  });

  it('reports a usage error in one line and a pointer to --help, or as JSON with --json (exit 2)', () => {
    const plain = pluginRun(['call', '--bogus', 'x']);
    expect(plain).toMatchObject({ status: 2, stdout: '' });
    expect(plain.stderr).toBe("error: unknown option '--bogus'\n(add --help for the usage)\n");
    const json = pluginRun(['call', '--json', '--bogus', 'x']);
    expect(json.status).toBe(2);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'INVALID_ARGUMENT', message: "unknown option '--bogus'", details: { usage: 'commander.unknownOption' } } });
    const missing = pluginRun(['inspect', '--json']);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: "missing required argument 'library'" });
    expect(pluginRun(['nope']).stderr).toBe("error: unknown command 'nope'\n(add --help for the usage)\n");
  });

  it('--log-level debug shows the life of the call with timings: spawn, handshake, the call, the exit', () => {
    const { status, stdout, stderr } = spawnSync(process.execPath, [CLI, 'call', '--log-level', 'debug', 'libm.so.6', 'double cos(double)', '0'], { encoding: 'utf8' });
    expect({ status, stdout }).toEqual({ status: 0, stdout: '1\n' });
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^plugin-run: debug \+\d+\.\dms host created$/);
    expect(lines[1]).toMatch(/^plugin-run: debug \+\d+\.\dms worker (\d+) spawned at \+\d+\.\dms, handshake answered after \d+\.\d ms$/);
    expect(lines[2]).toMatch(/^plugin-run: debug \+\d+\.\dms call "double cos\(double\)" in libm\.so\.6: ok after \d+\.\d ms on worker \d+ \(cpu \d+ ms, peak rss \d+\.\d MiB\); its first call there, loading the library$/);
    expect(lines[3]).toMatch(/^plugin-run: debug \+\d+\.\dms worker \d+ exited \(closed; exit status 0\)$/);
    expect(lines).toHaveLength(4);
    // info (the default) shows none of it.
    expect(spawnSync(process.execPath, [CLI, 'call', 'libm.so.6', 'double cos(double)', '0'], { encoding: 'utf8' }).stderr).toBe('');
  });

  it('names what is wrong with a misspelt type, a missing @file, @- and a bare symbol, without a stack', () => {
    const misspelt = pluginRun(['call', 'libc.so.6', 'itn f(int)', '1']);
    expect(misspelt).toMatchObject({ status: 2, stdout: '' });
    expect(misspelt.stderr).toContain('INVALID_ARGUMENT: Unknown type "itn" in the return type of "itn f(int)" (did you mean "int"?)');
    const sum = 'uint32_t sum_bytes(const uint8_t *d, size_t n)';
    const missing = pluginRun(['call', fixture('types'), sum, '@no-such-input.bin']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('plugin-run: INVALID_ARGUMENT: argument 1 (d: const uint8_t *): cannot read "no-such-input.bin" (ENOENT); give @FILE, hex:… or the text itself\n');
    // @- is stdin.
    const piped = spawnSync(process.execPath, [CLI, 'call', fixture('types'), sum, '@-'], { input: Buffer.from([1, 2, 3]), encoding: 'utf8' });
    expect(piped).toMatchObject({ status: 0, stdout: '6\n' });
    const bare = pluginRun(['call', 'libc.so.6', 'abs', '1']);
    expect(bare.stderr).toContain("Give its C prototype, '<return type> abs(<parameter types>)' as the library's header declares it");
    expect(bare.stderr).not.toContain('int abs(int)');
  });

  it('has --help', () => {
    const help = pluginRun(['call', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--max-processes');
  });
});

describe('plugin-run inspect', () => {
  it('lists the exported functions of an ELF library', () => {
    const run = pluginRun(['inspect', fixture('types')]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('abi: c');
    expect(run.stdout).toMatch(/^ {2}add_u64$/m);
    const json = JSON.parse(pluginRun(['inspect', '--json', fixture('types')]).stdout) as { result: { functions: string[] } };
    expect(json.result.functions).toContain('counter_new');
  });

  it('exits 6 for a file that is not a library', () => {
    expect(pluginRun(['inspect', 'package.json']).status).toBe(6);
  });
});

describe('an older Node', () => {
  const system = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  const major = system.status === 0 ? Number(system.stdout.trim().slice(1).split('.')[0]) : NaN;
  it.skipIf(!(major < 22))('is refused with a message that names it, before anything loads', () => {
    const run = spawnSync('/usr/bin/node', [CLI, 'call', 'libm.so.6', 'double cos(double)', '0'], { encoding: 'utf8' });
    expect(run.status).toBe(7);
    expect(run.stderr).toContain('needs Node.js 22 or newer');
    expect(run.stderr).toContain(system.stdout.trim());
  });
});
