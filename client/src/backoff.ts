/**
 * Exponential backoff with jitter for reconnects and retries: the n-th wait is drawn from
 * [d/2, d] with d = min(max, initial * 2^n), so many clients that lost the same server do not
 * come back in step. `reset()` after a success starts again from `initial`.
 */
export interface BackoffOptions {
  /** First wait, in ms. Default 100. */
  initialDelay?: number;
  /** Longest wait, in ms. Default 5000. */
  maxDelay?: number;
}

export class Backoff {
  private attempt = 0;
  readonly initial: number;
  readonly max: number;

  constructor(options: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initial = options.initialDelay ?? 100;
    this.max = Math.max(this.initial, options.maxDelay ?? 5000);
  }

  next(): number {
    return this.delay(this.attempt++);
  }

  /** The wait before retry number `attempt` (0-based). */
  delay(attempt: number): number {
    const d = Math.min(this.max, this.initial * 2 ** Math.min(attempt, 30));
    return Math.round(d / 2 + (d / 2) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}
