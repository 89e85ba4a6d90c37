import type { ErrorCode, LimitKind } from '@airlock/protocol';

/** Fields an AirlockError may carry besides its code and message. */
export interface AirlockErrorFields {
  /** The signal that ended the worker (CRASHED). */
  signal?: string;
  /** The exit status of the worker (CRASHED) or of a command (PLUGIN_ERROR). */
  exitCode?: number;
  /** Which limit was hit (LIMIT_EXCEEDED). */
  limit?: LimitKind;
  /** The last lines the plugin wrote to stdout and stderr during the call. */
  output?: string[];
  /** A vAccel function's non-zero status and its errno name (PLUGIN_ERROR). */
  status?: number;
  errno?: string;
  /** The 0-based position of the offending argument (INVALID_ARGUMENT). */
  argument?: number;
  /** The pid of the worker that ran the call. */
  workerPid?: number;
  /** Anything else worth knowing (the loader's message, both hashes …). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error type airlock rejects with; `code` is one of the error codes of README.md's Errors table. */
export class AirlockError extends Error implements AirlockErrorFields {
  override name = 'AirlockError';
  readonly code: ErrorCode;
  declare signal?: string;
  declare exitCode?: number;
  declare limit?: LimitKind;
  declare output?: string[];
  declare status?: number;
  declare errno?: string;
  declare argument?: number;
  declare workerPid?: number;
  declare details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, fields: AirlockErrorFields = {}) {
    const { cause, ...rest } = fields;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) (this as Record<string, unknown>)[key] = value;
  }

  /** A plain object for `--json` output and reports. */
  toJSON(): Record<string, unknown> {
    const { name: _name, stack: _stack, ...fields } = this as unknown as Record<string, unknown>;
    return { code: this.code, message: this.message, ...fields };
  }
}

/** Whether a value is an AirlockError (also across copies of the package). */
export function isAirlockError(value: unknown): value is AirlockError {
  return value instanceof AirlockError || (value instanceof Error && value.name === 'AirlockError' && 'code' in value);
}
