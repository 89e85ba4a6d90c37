// Launchers and worker groups: how `--launcher`, `--workers N@cmd` and the `workers` groups are
// read, the errors that name a bad value, the command line a launched worker starts with, its
// launch line, and how the death of a transport is told from the death of the worker behind it.
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { AirlockError, DEFAULT_REMOTE_COMMAND, createHost } from '@airlock/host';
import { REMOTE_LAUNCH_PREFIX, parseRemoteLaunchLine, remoteLaunchLine, remoteSignalLine } from '@airlock/protocol';
import { launchedCommandLine, parseLauncher, parseWorkersArgument, shellQuote, splitCommandLine } from '../../packages/host/src/remote/launcher.js';
import { addPoolOptions, poolFrom } from '../../packages/host/src/cli/options.js';
import { classifyDeath } from '../../packages/host/src/errors/classify.js';

describe('splitCommandLine', () => {
  it('splits on blanks and keeps quoted words whole, without expanding anything', () => {
    expect(splitCommandLine('ssh build-box')).toEqual(['ssh', 'build-box']);
    expect(splitCommandLine("  ssh  -o 'ProxyCommand=nc %h 22'   box ")).toEqual(['ssh', '-o', 'ProxyCommand=nc %h 22', 'box']);
    expect(splitCommandLine('docker exec -i "my box" $HOME ~')).toEqual(['docker', 'exec', '-i', 'my box', '$HOME', '~']);
    expect(splitCommandLine('a\\ b "c \\"d\\" \\\\" \'\'')).toEqual(['a b', 'c "d" \\', '']);
    expect(splitCommandLine("'it'\\''s'")).toEqual(["it's"]);
    expect(splitCommandLine('')).toEqual([]);
  });

  it('names an unclosed quote and the line', () => {
    expect(() => splitCommandLine("ssh 'box")).toThrow(`Unclosed ' in the command line "ssh 'box"`);
    expect(() => splitCommandLine('ssh "box')).toThrow('Unclosed " in the command line "ssh \\"box"');
  });
});

describe('--launcher and --workers', () => {
  it('reads a launcher and refuses an empty one', () => {
    expect(parseLauncher('kubectl exec -i pod-0 --')).toEqual(['kubectl', 'exec', '-i', 'pod-0', '--']);
    expect(() => parseLauncher('   ')).toThrow(`--launcher must name a command (e.g. 'ssh build-box'), got "   "`);
  });

  it('reads N and N@launcher; only the first @ separates', () => {
    expect(parseWorkersArgument('4')).toEqual({ count: 4 });
    expect(parseWorkersArgument("2@ssh -p 2222 'root@build box'")).toEqual({ count: 2, launcher: ['ssh', '-p', '2222', 'root@build box'] });
    expect(parseWorkersArgument('3@ssh root@build-box')).toEqual({ count: 3, launcher: ['ssh', 'root@build-box'] });
  });

  it('refuses a bad count or an empty launcher, naming the value and the form', () => {
    expect(() => parseWorkersArgument('four')).toThrow(`--workers "four": expected N or N@'launcher command' with N an integer from 1 to 256`);
    expect(() => parseWorkersArgument('0@ssh box')).toThrow('--workers "0@ssh box": expected N or N@');
    expect(() => parseWorkersArgument('999')).toThrow('--workers "999": expected');
    expect(() => parseWorkersArgument('2@ ')).toThrow('--workers "2@ ": the launcher after @ is empty');
  });

  it('makes the pool of a command line: groups, the launcher of those that name none, the far side command, --ship', () => {
    const parse = (args: string[]) => addPoolOptions(new Command().exitOverride(), true).parse(args, { from: 'user' }).opts();
    expect(poolFrom(parse([]))).toEqual({});
    expect(poolFrom(parse(['--workers', '3']))).toEqual({ workers: 3 });
    expect(poolFrom(parse(['--workers', '2', '--workers', '4@ssh box']))).toEqual({ workers: [{ count: 2 }, { count: 4, launcher: ['ssh', 'box'] }] });
    expect(poolFrom(parse(['--launcher', 'ssh box', '--ship']))).toEqual({ workers: [{ count: 1, launcher: ['ssh', 'box'] }], ship: true });
    expect(poolFrom(parse(['--workers', '2', '--launcher', 'docker exec -i c', '--remote-command', '/opt/node/bin/node /opt/w.js --remote']))).toEqual({
      workers: [{ count: 2, launcher: ['docker', 'exec', '-i', 'c'], command: ['/opt/node/bin/node', '/opt/w.js', '--remote'] }],
    });
    expect(() => parse(['--workers', 'x@ssh'])).toThrow(`--workers "x@ssh": expected N or N@'launcher command'`);
  });
});

describe('the workers option', () => {
  /** The INVALID_ARGUMENT createHost throws for these options. */
  function refusal(options: unknown): AirlockError {
    try {
      createHost(options as never);
    } catch (error) {
      return error as AirlockError;
    }
    throw new Error('createHost took the options');
  }

  it('takes a number or groups, local when a group has no launcher', () => {
    expect(createHost({ workers: 3 }).options.workers).toEqual([{ count: 3 }]);
    expect(createHost({ workers: [{ launcher: ['ssh', 'build-box'], count: 4 }, {}] }).options.workers).toEqual([{ count: 4, launcher: ['ssh', 'build-box'] }, { count: 1 }]);
  });

  it('names the bad value, where it is and what was expected', () => {
    expect(refusal({ workers: [{ launcher: 'ssh', count: 1 }] }).message).toContain('workers.0.launcher: Invalid input: expected array, received string (got "ssh")');
    expect(refusal({ workers: [{ count: 1 }, { launcher: [], count: 2 }] }).message).toContain('workers.1.launcher: a command needs at least one word (got [])');
    expect(refusal({ workers: [{ count: 1.5 }] }).message).toContain('workers.0.count');
    expect(refusal({ workers: [{ count: 1, lancher: ['ssh'] }] }).message).toContain('"lancher"');
    expect(refusal({ workers: [{ command: ['x'] }] }).message).toContain("workers.0.command: command needs a launcher: a local worker's command is the host option `worker`");
    expect(refusal({ workers: [] }).message).toContain('workers: give at least one group');
    expect(refusal({ workers: [{ count: 200 }, { count: 100 }] }).message).toContain('workers: at most 256 workers in all');
    expect(refusal({ workers: [{ launcher: ['ssh', 'b'] }], sandbox: true }).message).toContain('which this host cannot sandbox');
    expect(refusal({ workers: 'four' }).message).toBe('Invalid host options: workers: expected a number of workers (1 to 256) or an array of groups { count, launcher?, command? } (got "four")');
  });
});

describe('a launched worker', () => {
  it('starts as the launcher and the far side command, quoted for the far shell only through ssh', () => {
    expect(launchedCommandLine({ launcher: ['ssh', 'box'] })).toEqual({ command: 'ssh', args: ['box', ...DEFAULT_REMOTE_COMMAND] });
    expect(launchedCommandLine({ launcher: ['/usr/bin/ssh', 'box'], command: ['env', 'A=b c', "it's", '/opt/w.js'] })).toEqual({
      command: '/usr/bin/ssh',
      args: ['box', 'env', "'A=b c'", `'it'\\''s'`, '/opt/w.js'],
    });
    expect(launchedCommandLine({ launcher: ['docker', 'exec', '-i', 'c'], command: ['sh', '-c', 'exec "$@"'] })).toEqual({
      command: 'docker',
      args: ['exec', '-i', 'c', 'sh', '-c', 'exec "$@"'],
    });
    // What the far shell reads back is the word itself.
    for (const word of ['plain', 'a b', "it's", '$HOME', '"q"', '']) expect(splitCommandLine(shellQuote(word))).toEqual([word]);
  });

  it('is sent a launch line the far side reads back, and refuses one that is not', () => {
    const launch = { protocolVersion: 5, hostVersion: '0.1.0', env: { A: 'b' }, passEnv: ['LD_LIBRARY_PATH'], maxFrameBytes: 1024, singleThreaded: true };
    const line = remoteLaunchLine(launch);
    expect(line.startsWith(REMOTE_LAUNCH_PREFIX) && line.endsWith('}\n')).toBe(true);
    expect(parseRemoteLaunchLine(line.slice(0, -1))).toEqual(launch);
    expect(() => parseRemoteLaunchLine(`${REMOTE_LAUNCH_PREFIX}{`)).toThrow("the host's launch line is not JSON");
    expect(() => parseRemoteLaunchLine(`${REMOTE_LAUNCH_PREFIX}${JSON.stringify({ ...launch, maxFrameBytes: -1 })}`)).toThrow("the host's launch line is malformed: maxFrameBytes:");
    expect(() => parseRemoteLaunchLine(`${REMOTE_LAUNCH_PREFIX}${JSON.stringify({ ...launch, extra: 1 })}`)).toThrow('malformed');
  });
});

describe('the death of a worker behind a transport', () => {
  const evidence = { memoryPressure: false, memoryLimited: false, cpuLimited: false, workerPid: 7, operation: 'calling f in lib' };

  it('is the connection lost when the transport itself ended: its client killed, or ssh failing', () => {
    const killed = classifyDeath(undefined, { signal: 'SIGKILL', exitCode: null }, { ...evidence, output: [], transport: 'ssh' });
    expect(killed.code).toBe('UNAVAILABLE');
    expect(killed.message).toBe('The connection to the worker was lost while calling f in lib: its ssh client was killed by SIGKILL; the call may have run');
    expect(killed.details).toEqual({ transport: 'ssh', transportSignal: 'SIGKILL' });
    const dropped = classifyDeath(undefined, { signal: null, exitCode: 255 }, { ...evidence, output: ['Connection to 10.0.0.2 closed by remote host.'], transport: 'ssh' });
    expect(dropped.code).toBe('UNAVAILABLE');
    expect(dropped.message).toContain('ssh exited with status 255 (Connection to 10.0.0.2 closed by remote host.)');
  });

  it('is the worker crashing when the far side says so, or exiting with its own status', () => {
    const crashed = classifyDeath(undefined, { signal: null, exitCode: 139 }, { ...evidence, output: [remoteSignalLine('SIGSEGV')], transport: 'ssh' });
    expect(crashed).toMatchObject({ code: 'CRASHED', signal: 'SIGSEGV' });
    const exited = classifyDeath(undefined, { signal: null, exitCode: 3 }, { ...evidence, output: [], transport: 'ssh' });
    expect(exited).toMatchObject({ code: 'CRASHED', exitCode: 3 });
    // docker's status 255 is the command's own: only ssh reserves it.
    expect(classifyDeath(undefined, { signal: null, exitCode: 255 }, { ...evidence, output: [], transport: 'docker' })).toMatchObject({ code: 'CRASHED', exitCode: 255 });
    // What the host intended comes first.
    expect(classifyDeath({ kind: 'timeout', timeoutMs: 5 }, { signal: 'SIGKILL', exitCode: null }, { ...evidence, output: [], transport: 'ssh' }).code).toBe('TIMEOUT');
  });
});
