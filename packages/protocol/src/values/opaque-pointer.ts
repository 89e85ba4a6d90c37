/**
 * A native pointer handed out by a worker. Only the worker that produced it can use it again
 * (addresses mean nothing in another process), so it remembers which worker that was.
 */
export class OpaquePointer {
  /** The address inside the worker's process. */
  readonly address: bigint;
  /** The worker (its pid) whose address space the pointer belongs to; 0 when unknown. */
  readonly workerPid: number;

  constructor(address: bigint, workerPid = 0) {
    this.address = address;
    this.workerPid = workerPid;
    Object.freeze(this);
  }

  toString(): string {
    return `0x${this.address.toString(16)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
