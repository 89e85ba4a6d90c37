export { createHost, Host, type LibraryInfo } from './host.js';
export { AirlockError, isAirlockError, type AirlockErrorFields } from './errors/airlock-error.js';
export { DEFAULT_LIMITS, type HostOptions, type CallOptions, type LogEntry } from './options/host-options.js';
export type { SandboxOptions } from './sandbox/sandbox-options.js';
export { OpaquePointer, EXIT_CODES, ERROR_CODES, LIMIT_KINDS, type ErrorCode, type LimitKind, type Limits } from '@airlock/protocol';
export { Session, type SessionOptions, type Resource, type ResourceData } from './session/session.js';
export type { ExecSpec } from './exec/exec-spec.js';
export type { ExecResult } from './exec/run-exec.js';
export { parseResultJson, toResultJson } from './output/result-json.js';
