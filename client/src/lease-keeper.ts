/**
 * Keeps the leases of the messages a worker holds (running or waiting to run) from running
 * out: one timer, every third of the lease, extends each held message whose lease has less
 * than two thirds left. So a held message never has less than a third of its lease left
 * when its extension is sent, whatever its handler does; no timer per message.
 *
 * Times are on the injected clock; a message's lease is counted from when it was received,
 * which is a little after the server started it (the third left covers that and the call).
 */
import type { Clock } from './clock';
import type { ReceivedMessage } from './received-message';

export class LeaseKeeper {
  /** Each held message, with when its lease ends on the local clock. */
  private readonly held = new Map<ReceivedMessage, number>();
  private timer: unknown = null;

  constructor(
    private readonly clock: Clock,
    readonly leaseMs: number,
    /** Extends `m`'s lease by leaseMs; it had `remainingMs` left, until `endsAt`. */
    private readonly extend: (m: ReceivedMessage, remainingMs: number, endsAt: number) => void,
  ) {}

  get size(): number {
    return this.held.size;
  }

  hold(m: ReceivedMessage): void {
    this.held.set(m, this.clock.now() + this.leaseMs);
    if (this.timer === null) this.timer = this.clock.setTimer(this.leaseMs / 3, this.tick);
  }

  /** Stops extending `m`; false when it was not held (released already). */
  release(m: ReceivedMessage): boolean {
    return this.held.delete(m);
  }

  /** An extension failed for a reason that may pass: its lease end goes back to `endsAt`, so the next round tries again. */
  restore(m: ReceivedMessage, endsAt: number): void {
    if (this.held.has(m)) this.held.set(m, endsAt);
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.held.clear();
  }

  private readonly tick = (): void => {
    this.timer = null;
    const now = this.clock.now();
    for (const [m, endsAt] of this.held) {
      const remaining = endsAt - now;
      if (remaining < (this.leaseMs * 2) / 3) {
        this.held.set(m, now + this.leaseMs);
        this.extend(m, remaining, endsAt);
      }
    }
    if (this.held.size > 0) this.timer = this.clock.setTimer(this.leaseMs / 3, this.tick);
  };
}
