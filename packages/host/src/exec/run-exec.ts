// The body of `host.exec`: resolve the spec, run it in a worker under the call's limits, and
// give the failure the command's own last lines.
import type { ExecResult, Limits } from '@airlock/protocol';
import { isAirlockError } from '../errors/airlock-error.js';
import { mergeLimits } from '../options/host-options.js';
import type { CallInfo } from '../worker/worker-process.js';
import { type CallerContext, type ExecSpec, resolveExecSpec } from './exec-spec.js';

/** What a command that exited 0 resolves to. */
export type { ExecResult };

/** Sends `airlock/exec` to a worker of the pool (the Host's part). */
export type ExecRequester = (params: unknown, info: CallInfo & { signal: AbortSignal | undefined }) => Promise<unknown>;

/**
 * Runs a command through a driver in a worker. Limits are the host's, overridden by the spec's:
 * timeoutMs, maxProcesses and maxOutputBytes are enforced by the host on the worker's process
 * tree (the command is part of it); memoryBytes, cpuMs and maxOpenFiles by the worker on the
 * command's own processes.
 */
export async function execCommand(spec: ExecSpec, hostLimits: Limits, caller: CallerContext, request: ExecRequester): Promise<ExecResult> {
  const { params, limits: own, signal } = resolveExecSpec(spec, caller);
  const limits = mergeLimits(hostLimits, own);
  const { memoryBytes, cpuMs, maxOpenFiles } = limits;
  const workerLimits = {
    ...(memoryBytes !== undefined && { memoryBytes }),
    ...(cpuMs !== undefined && { cpuMs }),
    ...(maxOpenFiles !== undefined && { maxOpenFiles }),
  };
  const operation = `running ${params.driver} command ${describeRun(params.run)}`;
  // The worker watches the command's CPU (all its processes); the host's own CPU watch sees only
  // the worker process, whose sampling would eat into a small budget of a long command.
  const { cpuMs: _cpu, ...hostWatched } = limits;
  try {
    return (await request({ ...params, limits: workerLimits }, { limits: hostWatched, operation, signal })) as ExecResult;
  } catch (error) {
    throw withCommandOutput(error);
  }
}

/**
 * The worker knows the command's last lines exactly (the host's copy of the log may still be in
 * a pipe when the answer arrives): they become the error's `output`, a signal its `signal`.
 */
function withCommandOutput(error: unknown): unknown {
  if (!isAirlockError(error) || !error.details) return error;
  const { output, signal, ...details } = error.details as { output?: unknown; signal?: unknown } & Record<string, unknown>;
  if (Array.isArray(output) && output.every((line) => typeof line === 'string')) error.output = output;
  if (typeof signal === 'string') error.signal = signal;
  error.details = details;
  return error;
}

function describeRun(run: string | string[]): string {
  const text = typeof run === 'string' ? run : run.join(' ');
  const line = text.split('\n')[0]!;
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}

