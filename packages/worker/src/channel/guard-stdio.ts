import { closeSync, fstatSync, openSync, createReadStream, createWriteStream } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { F_SETFD, FD_CLOEXEC, dup, dup2, fcntl3, lastError } from '../native/libc.js';
import { isOpen } from '../native/fd.js';

/** The JSON-RPC channel after it has been moved out of the plugin's reach. */
export interface GuardedChannel {
  input: Readable;
  output: Writable;
  /** The descriptor `output` writes to. */
  outputFd: number;
  /** The descriptor `input` reads from. */
  inputFd: number;
}

/**
 * Moves the JSON-RPC channel off fds 0 and 1 before any plugin loads. The channel keeps
 * private duplicates (close-on-exec, so commands the worker runs never inherit them); fd 0
 * becomes /dev/null and fd 1 the plugin-output pipe the host reads (fd `stdoutFd` when the
 * host provided one, else fd 2). A plugin that printf()s, writes fake frames or closes fds 0
 * and 1 can no longer corrupt the protocol.
 */
export function guardStdio(stdoutFd: number | undefined): GuardedChannel {
  const rpcIn = dup(0) as number;
  const rpcOut = dup(1) as number;
  if (rpcIn < 0 || rpcOut < 0) throw new Error(`Cannot duplicate the channel: ${lastError()}`);
  fcntl3(rpcIn, F_SETFD, FD_CLOEXEC);
  fcntl3(rpcOut, F_SETFD, FD_CLOEXEC);
  const target = stdoutFd !== undefined && isOpen(stdoutFd) ? stdoutFd : 2;
  if ((dup2(target, 1) as number) < 0) throw new Error(`Cannot redirect fd 1: ${lastError()}`);
  if (target !== 2) closeSync(target);
  const devNull = openSync('/dev/null', 'r');
  dup2(devNull, 0);
  closeSync(devNull);
  return { input: readableOf(rpcIn), output: writableOf(rpcOut), outputFd: rpcOut, inputFd: rpcIn };
}

function isStreamLike(fd: number): boolean {
  const stat = fstatSync(fd);
  return stat.isFIFO() || stat.isSocket();
}

function readableOf(fd: number): Readable {
  return isStreamLike(fd) ? new Socket({ fd, readable: true, writable: false }) : createReadStream('', { fd });
}

function writableOf(fd: number): Writable {
  return isStreamLike(fd) ? new Socket({ fd, readable: false, writable: true }) : createWriteStream('', { fd });
}
