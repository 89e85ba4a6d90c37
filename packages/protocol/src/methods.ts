import { NotificationType, ParameterStructures, RequestType } from 'vscode-jsonrpc/node';
import { z } from 'zod';
import { InspectParamsSchema, InspectResultSchema } from './messages/call.js';
import { ExecParamsSchema, ExecResultSchema } from './messages/exec.js';
import { HelloParamsSchema, HelloResultSchema } from './messages/handshake.js';
import { LogParamsSchema } from './messages/log.js';
import { RetireParamsSchema } from './messages/retire.js';
import { ShipParamsSchema, ShipResultSchema } from './messages/ship.js';
import { CallsParamsSchema, ResultsParamsSchema } from './messages/calls.js';
import {
  ExecResourceParamsSchema,
  RegisterResourceParamsSchema,
  RegisterResourceResultSchema,
  UnregisterResourceParamsSchema,
} from './messages/session.js';
import { CallResultSchema as ValueResultSchema } from './messages/call.js';

const byName = ParameterStructures.byName;

/** Each request method: its wire name and the schemas of its params and result. */
export const REQUESTS = {
  hello: { method: 'airlock/hello', params: HelloParamsSchema, result: HelloResultSchema },
  /** A round trip that does nothing (vAccel's noop): proves the worker answers. */
  ping: { method: 'airlock/ping', params: z.object({}), result: z.object({ pid: z.number().int().positive() }) },
  inspect: { method: 'airlock/inspect', params: InspectParamsSchema, result: InspectResultSchema },
  exec: { method: 'airlock/exec', params: ExecParamsSchema, result: ExecResultSchema },
  registerResource: { method: 'airlock/resource/register', params: RegisterResourceParamsSchema, result: RegisterResourceResultSchema },
  unregisterResource: { method: 'airlock/resource/unregister', params: UnregisterResourceParamsSchema, result: z.null() },
  execResource: { method: 'airlock/resource/exec', params: ExecResourceParamsSchema, result: ValueResultSchema },
  ship: { method: 'airlock/ship', params: ShipParamsSchema, result: ShipResultSchema },
} as const;

/** Each notification method (worker → host). */
export const NOTIFICATIONS = {
  log: { method: 'airlock/log', params: LogParamsSchema },
  retire: { method: 'airlock/retire', params: RetireParamsSchema },
  results: { method: 'airlock/results', params: ResultsParamsSchema },
} as const;

/**
 * Host → worker notifications: the hot path. Both ends read them (and `airlock/results`,
 * `airlock/retire`) straight off the frame reader, in order, without vscode-jsonrpc's dispatch.
 */
export const HOST_NOTIFICATIONS = {
  calls: { method: 'airlock/calls', params: CallsParamsSchema },
} as const;

type Req<K extends keyof typeof REQUESTS> = RequestType<
  z.input<(typeof REQUESTS)[K]['params']>,
  z.infer<(typeof REQUESTS)[K]['result']>,
  unknown
>;

function request<K extends keyof typeof REQUESTS>(key: K): Req<K> {
  return new RequestType(REQUESTS[key].method, byName);
}

/** The vscode-jsonrpc method table, built from the schemas above. */
export const Methods = {
  hello: request('hello'),
  ping: request('ping'),
  inspect: request('inspect'),
  exec: request('exec'),
  registerResource: request('registerResource'),
  unregisterResource: request('unregisterResource'),
  execResource: request('execResource'),
  ship: request('ship'),
  log: new NotificationType<z.infer<typeof LogParamsSchema>>(NOTIFICATIONS.log.method, byName),
  retire: new NotificationType<z.infer<typeof RetireParamsSchema>>(NOTIFICATIONS.retire.method, byName),
  results: new NotificationType<z.infer<typeof ResultsParamsSchema>>(NOTIFICATIONS.results.method, byName),
  calls: new NotificationType<z.infer<typeof CallsParamsSchema>>(HOST_NOTIFICATIONS.calls.method, byName),
} as const;

/** Methods a host accepts from a worker; anything else is a protocol violation. */
export const WORKER_TO_HOST_METHODS: ReadonlySet<string> = new Set(Object.values(NOTIFICATIONS).map((n) => n.method));

/** Result schema of each request method, by wire name (for checking responses). */
export const RESULT_SCHEMAS: ReadonlyMap<string, z.ZodType> = new Map(Object.values(REQUESTS).map((r) => [r.method, r.result]));
