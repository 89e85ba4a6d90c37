import { AirlockError } from '../errors/airlock-error.js';

/**
 * Stops a host from spawning workers in a tight loop when they cannot start (a missing binary,
 * a handshake that always fails): after `threshold` consecutive start failures, calls fail
 * fast with UNAVAILABLE naming the cause until a cool-down has passed; the cool-down doubles
 * each time the breaker opens again, and resets after a successful start.
 */
export class StartBreaker {
  private failures = 0;
  private openUntil = 0;
  private cooldownMs: number;
  private lastCause = '';

  constructor(
    private readonly threshold: number,
    private readonly baseCooldownMs: number,
    private readonly maxCooldownMs: number,
  ) {
    this.cooldownMs = baseCooldownMs;
  }

  /** Throws UNAVAILABLE while the breaker is open. */
  check(): void {
    const wait = this.openUntil - Date.now();
    if (wait > 0) {
      throw new AirlockError(
        'UNAVAILABLE',
        `Workers cannot be started (${this.lastCause}); not retrying for another ${wait} ms`,
        { details: { cause: this.lastCause, retryInMs: wait } },
      );
    }
  }

  succeeded(): void {
    this.failures = 0;
    this.openUntil = 0;
    this.cooldownMs = this.baseCooldownMs;
  }

  failed(cause: string): void {
    this.lastCause = cause;
    this.failures += 1;
    // Half-open after a cool-down: one more failure opens the breaker again at once.
    if (this.failures >= this.threshold || this.openUntil > 0) {
      this.openUntil = Date.now() + this.cooldownMs;
      this.cooldownMs = Math.min(this.cooldownMs * 2, this.maxCooldownMs);
      this.failures = 0;
    }
  }

  /** Whether the breaker is open now. */
  get open(): boolean {
    return this.openUntil > Date.now();
  }
}
