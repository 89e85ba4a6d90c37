/**
 * Runs operations one at a time, in arrival order. Native calls are synchronous anyway; this
 * keeps asynchronous operations (commands) from overlapping, so limits and output belong to
 * exactly one operation at a time.
 */
export class SerialRunner {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
