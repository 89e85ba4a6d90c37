import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameReader,
  FrameWriter,
  RPC_AIRLOCK_ERROR,
} from '@airlock/protocol';
import { type MessageConnection, ResponseError, createMessageConnection } from 'vscode-jsonrpc/node';
import { WorkerFailure } from '../failure.js';
import type { GuardedChannel } from './guard-stdio.js';

/** The worker's end of the channel: the JSON-RPC connection, and its reader and writer for the hot path. */
export interface WorkerChannel {
  connection: MessageConnection;
  reader: FrameReader;
  writer: FrameWriter;
}

/** Opens the JSON-RPC connection on the guarded channel. */
export function openConnection(channel: GuardedChannel, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): WorkerChannel {
  const reader = new FrameReader(channel.input, maxFrameBytes);
  const writer = new FrameWriter(channel.output, channel.outputFd);
  return { connection: createMessageConnection(reader, writer), reader, writer };
}

/** Turns anything an operation threw into the JSON-RPC error the host expects. */
export function toResponseError(error: unknown): ResponseError<unknown> {
  if (error instanceof WorkerFailure) return new ResponseError(RPC_AIRLOCK_ERROR, error.message, error.data);
  const message = error instanceof Error ? error.message : String(error);
  // koffi reports values that do not fit a parameter as TypeError / RangeError.
  if (error instanceof TypeError || error instanceof RangeError) {
    return new ResponseError(RPC_AIRLOCK_ERROR, message, { code: 'INVALID_ARGUMENT' });
  }
  return new ResponseError(RPC_AIRLOCK_ERROR, `Worker internal error: ${message}`, { code: 'PROTOCOL_ERROR' });
}
