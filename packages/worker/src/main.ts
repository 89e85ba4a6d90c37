#!/usr/bin/env node
// The airlock worker: started by a host, speaks JSON-RPC on its stdin/stdout. The order below
// matters: harden and guard the channel before any plugin code can be loaded.
import './native/koffi-setup.js';
import {
  AIRLOCK_VERSION,
  CAPABILITIES,
  CallsParamsSchema,
  DEFAULT_MAX_FRAME_BYTES,
  HelloParamsSchema,
  InspectParamsSchema,
  RegisterResourceParamsSchema,
  UnregisterResourceParamsSchema,
  ExecResourceParamsSchema,
  ExecParamsSchema,
  Methods,
  REQUESTS,
  PROTOCOL_VERSION,
  ShipParamsSchema,
  type ZodLike,
} from './protocol-imports.js';
import { ship } from './operations/ship.js';
import { guardStdio } from './channel/guard-stdio.js';
import { openConnection, toResponseError } from './channel/connection.js';
import { closeInheritedFds, hardenProcess } from './lifecycle/harden.js';
import { LimitApplier } from './limits/apply-limits.js';
import { readDataBytes, readThreadCount } from './limits/self-status.js';
import { loadLibrary } from './loader/library-cache.js';
import { callArroyoPlugin, callC } from './operations/call.js';
import { CallRunner } from './operations/call-runs.js';
import { ResultLog } from './channel/result-log.js';
import { callVaccel } from './abi/vaccel.js';
import { execResource, registerResource, unregisterResource } from './operations/resources.js';
import { runInspect } from './operations/inspect.js';
import type { WorkerContext } from './operations/context.js';
import { SerialRunner } from './operations/serial.js';
import { invalidArgument, WorkerFailure } from './failure.js';
import { killDescendants } from './exec/process-tree.js';
import { Hygiene } from './hygiene/hygiene.js';
import { awaitHostRead, deliverPluginOutput, lingerForInput } from './channel/plugin-output.js';

const env = process.env;
hardenProcess(env.AIRLOCK_HOST_PID ? Number(env.AIRLOCK_HOST_PID) : undefined);
closeInheritedFds(env.AIRLOCK_INHERITED_FDS);
const channel = guardStdio(env.AIRLOCK_STDOUT_FD ? Number(env.AIRLOCK_STDOUT_FD) : undefined);
const maxFrameBytes = env.AIRLOCK_MAX_FRAME_BYTES ? Number(env.AIRLOCK_MAX_FRAME_BYTES) : DEFAULT_MAX_FRAME_BYTES;
const { connection, reader, writer } = openConnection(channel, maxFrameBytes);

const limits = new LimitApplier();
const context: WorkerContext = {
  pid: process.pid,
  limits,
  load(library, sha256, options = {}) {
    const loaded = loadLibrary(library, { ...options, sha256 });
    limits.footprintChanged();
    return loaded;
  },
  abis: {
    c: (library, fn) => callC(library, fn, process.pid),
    arroyo: (library, fn) => (args) => callArroyoPlugin(library, fn, args),
    vaccel: (library, fn, params) => (args) => callVaccel(library, fn, args, params.vaccelLayout ?? 'auto'),
  },
};

const serial = new SerialRunner();
const hygiene = new Hygiene(limits);
limits.onWorkerChanged = () => hygiene.rebase();
/** Why this worker serves no more calls, once a call left it changed. */
let retired: string | undefined;
/** How long to look for the next call once every call sent has run, in µs (the host's, from its handshake). */
let lingerMicros = 0;

/**
 * What an operation does to the worker's hygiene: `plugin` operations run plugin code in this
 * process, so the worker is checked after them (and retires if they left it changed); `worker`
 * operations change it themselves (a command's first spawn installs a SIGCHLD handler), so the
 * baseline is taken again; `none` touch nothing.
 */
type Hygienic = 'plugin' | 'worker' | 'none';

/** Registers a request handler that validates its params and runs one operation at a time. */
function handle<P, R>(type: { method: string }, schema: ZodLike<P>, operation: (params: P) => R | Promise<R>, hygienic: Hygienic = 'none'): void {
  const handler = (raw: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      void serial.run(async () => {
        if (retired !== undefined) {
          reject(toResponseError(new WorkerFailure('UNAVAILABLE', `This worker retired (${retired}); the call did not start`, { details: { notStarted: true } })));
          return;
        }
        let outcome: { value: R } | { error: unknown };
        try {
          const parsed = schema.safeParse(raw);
          if (!parsed.success) throw invalidArgument(`Bad ${type.method} params: ${parsed.error.message}`);
          outcome = { value: await operation(parsed.data) };
        } catch (error) {
          outcome = { error };
        }
        if ('error' in outcome && outcome.error instanceof WorkerFailure && outcome.error.data.details?.notStarted === true) {
          // This worker cannot give the call what it asks (its memory limit is locked lower): it
          // retires, and the host runs the call, which never started, on a fresh worker.
          retire(outcome.error.message);
        } else if (hygienic === 'plugin') {
          // What could strike a later call by itself (a thread, a timer, a child) is checked
          // before the answer, so that the call that left it is the one that gets the blame.
          retire(hygiene.checkLive());
        } else if (hygienic === 'worker') {
          hygiene.rebase();
        }
        // What the operation's code (plugin or command) wrote reaches the host before the answer.
        if (hygienic !== 'none') deliverPluginOutput();
        if ('error' in outcome) reject(toResponseError(outcome.error));
        else resolve(outcome.value);
        // The rest (limits, descriptors, directory, environment, memory) cannot act by itself:
        // it is checked once the answer is on its way, before this worker starts anything else.
        if (hygienic === 'plugin' && retired === undefined) {
          await new Promise<void>((done) => setImmediate(done));
          retire(hygiene.checkState());
        }
      });
    });
  connection.onRequest(type.method, handler as (raw: unknown) => Promise<never>);
}

/** Retires this worker (once): it tells the host why, on the channel, before anything else it writes. */
function retire(reason: string | undefined): void {
  if (reason === undefined || retired !== undefined) return;
  retired = reason;
  void connection.sendNotification(Methods.retire, { reason });
}

handle(Methods.hello, HelloParamsSchema, (params) => {
  if (params.protocolVersion !== PROTOCOL_VERSION) {
    throw new WorkerFailure(
      'PROTOCOL_ERROR',
      `Protocol mismatch: the host speaks airlock protocol ${params.protocolVersion} (airlock ${params.hostVersion}), this worker speaks protocol ${PROTOCOL_VERSION} (airlock ${AIRLOCK_VERSION})`,
    );
  }
  hygiene.configure({ maxRssBytes: params.maxRssBytes });
  lingerMicros = params.lingerMicros ?? 0;
  if (params.watchMemory === true) limits.startMemoryWatch();
  // A clean worker is what it is now, its channel set up and nothing of any plugin loaded.
  hygiene.rebase();
  return {
    protocolVersion: PROTOCOL_VERSION,
    workerVersion: AIRLOCK_VERSION,
    pid: process.pid,
    capabilities: [...CAPABILITIES],
    baseline: { dataBytes: readDataBytes(), threads: readThreadCount() },
    ...(env.AIRLOCK_RUNDIR ? { rundir: env.AIRLOCK_RUNDIR } : {}),
  };
});
handle(Methods.ping, REQUESTS.ping.params, () => ({ pid: process.pid }));

// Calls, the hot path: taken off the channel as they arrive, run in order behind whatever was
// sent before them. A malformed `airlock/calls` is the host's bug: nothing can be answered.
const runner = new CallRunner(context, writer, hygiene, ResultLog.open(env.TMPDIR), maxFrameBytes, {
  retired: () => retired,
  retire,
  serially: (operation) => void serial.run(operation),
  awaitHostRead: () => awaitHostRead(channel.outputFd),
  idle: () => {
    if (lingerMicros > 0) lingerForInput(channel.inputFd, lingerMicros);
  },
});
reader.intercept((message) => {
  if ((message as { method?: unknown }).method !== Methods.calls.method) return false;
  const parsed = CallsParamsSchema.safeParse((message as { params?: unknown }).params);
  if (!parsed.success) {
    process.stderr.write(`airlock worker: malformed ${Methods.calls.method} from the host: ${parsed.error.message}\n`);
    process.exit(65);
  }
  runner.take(parsed.data.runs);
  return true;
});
handle(Methods.inspect, InspectParamsSchema, (params) => runInspect(context, params), 'plugin');
// Commands load their code (and node:child_process) when the first one runs: a worker that only
// calls functions never pays for it at its start.
handle(Methods.exec, ExecParamsSchema, async (params) => (await import('./exec/exec-operation.js')).runExec(context, params), 'worker');
handle(Methods.registerResource, RegisterResourceParamsSchema, (params) => registerResource(context, params), 'plugin');
handle(Methods.unregisterResource, UnregisterResourceParamsSchema, (params) => unregisterResource(params));
handle(Methods.execResource, ExecResourceParamsSchema, (params) => execResource(context, params), 'plugin');
handle(Methods.ship, ShipParamsSchema, (params) => ship(params), 'worker');

// The host closing the channel is the normal way to end a worker. Whatever plugin code left
// running goes first: as a child subreaper this worker is the parent of everything it orphaned,
// which would otherwise outlive it.
connection.onClose(() => {
  killDescendants();
  process.exit(0);
});
connection.onError(() => process.exit(65));
connection.listen();
