// The `airlock/exec` operation: build the command's environment from nothing, run it through
// its driver under its limits, and turn how it ended into a result or an airlock failure.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExecParamsSchema, type ExecResult, type WorkerLimits } from '@airlock/protocol';
import { WorkerFailure, invalidArgument, pluginError } from '../failure.js';
import { EnvironmentError, argMax, buildEnvironment, fitEnvironment } from './build-environment.js';
import { driverCommand, findProgram, findWrapperTools, resolveProgram, wrapCommand, type WrapperTools } from './drivers.js';
import { materialize, measureOutputs } from './materialize.js';
import { readStackLimit } from './process-tree.js';
import { type CommandOutcome, runCommand } from './run-command.js';

/** The params of `airlock/exec` once validated. */
export type ExecRequest = ReturnType<(typeof ExecParamsSchema)['parse']>;

/** What the operation needs from the worker. */
export interface ExecContext {
  /** Resets the worker's own limits (a command gets its limits on its own processes). */
  limits: { apply(limits: WorkerLimits): void };
}

/** Messages of programs that ran out of memory (glibc, bash, coreutils, Python, C++, Node, Go). */
const OUT_OF_MEMORY = /cannot allocate memory|out of memory|memory exhausted|MemoryError|bad_alloc|allocation failed|xmalloc|xrealloc|runtime: out of memory/i;

let wrapperTools: WrapperTools | undefined;

export { ExecParamsSchema };

/** Runs one command; resolves to its result, rejects with a WorkerFailure. */
export async function runExec(context: ExecContext, params: ExecRequest): Promise<ExecResult> {
  // The worker's own limits (set for an earlier call) must not leak into the command.
  context.limits.apply({});
  const workspaceRoot = resolve(params.workspaceRoot ?? params.cwd ?? process.cwd());
  const cwd = resolve(workspaceRoot, params.cwd ?? '.');
  if (!isDirectory(cwd)) throw invalidArgument(`cwd ${cwd} is not a directory`);

  const scratch = mkdtempSync(join(tmpdir(), 'exec-'));
  try {
    let plan;
    try {
      plan = buildEnvironment({ env: params.env, path: params.path, tools: params.tools, deps: params.deps, out: params.out, cwd, workspaceRoot, scratchDir: scratch });
      materialize(plan);
    } catch (error) {
      if (error instanceof EnvironmentError) throw invalidArgument(error.message);
      throw error;
    }
    const command = driverCommand(params.driver, params.run, join(scratch, params.driver === 'bash' ? 'script.bash' : 'script.sh'));
    if (command.script) writeFileSync(command.script.path, command.script.content, { mode: 0o600 });
    const path = plan.env.PATH ?? '';
    const program = resolveProgram(command, path, cwd);
    if (program === undefined) {
      throw pluginError(`Command not found: ${JSON.stringify(command.program)} (searched PATH=${path})`, { exitCode: 127, details: { path } });
    }
    wrapperTools ??= findWrapperTools();
    const { memoryBytes, cpuMs, maxOpenFiles } = params.limits;
    const launch = wrapCommand(program, command.argv, { memoryBytes, cpuMs, maxOpenFiles }, wrapperTools, {
      // argv[0] stays as written when the wrapper's lookup on the same PATH reaches the same file.
      keepArgv0: params.driver === 'exec' || findProgram(command.program, path, cwd) === program,
    });

    const fitted = fitEnvironment(plan.env, [launch.file, ...launch.args], argMax(readStackLimit()));
    if (!fitted.fits) {
      throw invalidArgument(`The command line is too long for the kernel (E2BIG): shorten the arguments${params.driver === 'exec' ? '' : ' or the script'}`);
    }
    for (const warning of fitted.warnings) process.stderr.write(`airlock: warning: ${warning}\n`);

    const outcome = await runCommand({
      launch,
      env: fitted.env,
      cwd,
      stdin: params.stdin,
      cpuMs,
      watchMemory: memoryBytes !== undefined,
      captureBytes: captureBytes(),
      echo: { stdout: (chunk) => process.stdout.write(chunk), stderr: (chunk) => process.stderr.write(chunk) },
    });
    const failure = describeFailure(outcome, params, path, fitted.warnings);
    if (failure) throw failure;
    return {
      exitCode: 0,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      outputs: measureOutputs(plan),
      ...(fitted.warnings.length > 0 || outcome.truncated.length > 0 ? { warnings: [...fitted.warnings, ...truncation(outcome)] } : {}),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** How a command that did not exit 0 failed: PLUGIN_ERROR with its status, or the limit it hit. */
export function describeFailure(outcome: CommandOutcome, params: Pick<ExecRequest, 'driver' | 'limits'>, path: string, warnings: string[] = []): WorkerFailure | undefined {
  const details: Record<string, unknown> = { driver: params.driver, output: outcome.tail };
  if (warnings.length > 0) details.warnings = warnings;
  if (outcome.spawnError) {
    const error = outcome.spawnError;
    return pluginError(`The command could not start: ${error.code ?? ''} ${error.message}`.trim(), { details });
  }
  if (outcome.exitCode === 0) return undefined;
  const signalNumber = outcome.signal ? (osConstants.signals[outcome.signal] ?? 0) : 0;
  const exitCode = outcome.exitCode ?? 128 + signalNumber;
  if (outcome.signal) details.signal = outcome.signal;
  const { cpuMs, memoryBytes } = params.limits;
  if (outcome.cpuExceededMs !== undefined || (outcome.signal === 'SIGXCPU' && cpuMs !== undefined)) {
    const used = outcome.cpuExceededMs !== undefined ? `${Math.round(outcome.cpuExceededMs)} ms of CPU used` : 'SIGXCPU';
    return new WorkerFailure('LIMIT_EXCEEDED', `The cpu limit was exceeded by the command (${used}, the limit is ${cpuMs} ms); it was killed`, { limit: 'cpu', exitCode, details });
  }
  if (memoryBytes !== undefined && (outcome.peakDataBytes >= memoryBytes * 0.8 || outcome.tail.some((line) => OUT_OF_MEMORY.test(line)))) {
    return new WorkerFailure('LIMIT_EXCEEDED', `The memory limit was exceeded by the command (${memoryBytes} bytes per process); it ${outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${exitCode}`}`, {
      limit: 'memory',
      exitCode,
      details,
    });
  }
  if (outcome.signal) return pluginError(`The command was killed by ${outcome.signal}`, { exitCode, details });
  if (exitCode === 127) {
    details.path = path;
    return pluginError(`The command exited with status 127 (command not found; PATH=${path})`, { exitCode, details });
  }
  return pluginError(`The command exited with status ${exitCode}`, { exitCode, details });
}

function truncation(outcome: CommandOutcome): string[] {
  return outcome.truncated.map((stream) => `${stream} was cut at ${captureBytes()} bytes in the result (the whole of it went to the log)`);
}

/** Bytes of stdout and of stderr kept for the result: its JSON must fit a frame. */
function captureBytes(): number {
  const frame = Number(process.env.AIRLOCK_MAX_FRAME_BYTES) || 64 * 1024 * 1024;
  return Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(frame / 12)));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
