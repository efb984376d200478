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
  private readonly held = new Set<ReceivedMessage>();
  private timer: unknown = null;

  constructor(
    private readonly clock: Clock,
    readonly leaseMs: number,
    /** Extends `m`'s lease by leaseMs; `remainingMs` is what it had left. */
    private readonly extend: (m: ReceivedMessage, remainingMs: number) => void,
  ) {}

  get size(): number {
    return this.held.size;
  }

  hold(m: ReceivedMessage): void {
    m.leaseEndsAt = this.clock.now() + this.leaseMs;
    this.held.add(m);
    if (this.timer === null) this.timer = this.clock.setTimer(this.leaseMs / 3, this.tick);
  }

  release(m: ReceivedMessage): void {
    this.held.delete(m);
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.held.clear();
  }

  private readonly tick = (): void => {
    this.timer = null;
    const now = this.clock.now();
    for (const m of this.held) {
      const remaining = m.leaseEndsAt - now;
      if (remaining < (this.leaseMs * 2) / 3) {
        m.leaseEndsAt = now + this.leaseMs;
        this.extend(m, remaining);
      }
    }
    if (this.held.size > 0) this.timer = this.clock.setTimer(this.leaseMs / 3, this.tick);
  };
}
