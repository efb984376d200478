/**
 * The one timer of the server. The broker says when its next deadline moves earlier
 * (`wake`); the driver keeps a single unref'd timer armed for the earliest deadline and
 * calls `tick` when it fires. Never a timer per message.
 */
import type { Clock, TimerHandle } from '../clock';

/** Timers longer than this are re-armed on waking (Node caps setTimeout near 24.8 days). */
const MAX_ARM_MS = 3_600_000;

export class TickDriver {
  private timer: TimerHandle | null = null;
  private armedAt = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly tick: () => number | null,
  ) {}

  /** Make sure tick() runs no later than `deadline`. */
  wake(deadline: number): void {
    if (this.stopped || deadline >= this.armedAt) return;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.armedAt = deadline;
    const delay = Math.min(MAX_ARM_MS, Math.max(0, deadline - this.clock.now()));
    this.timer = this.clock.setTimer(delay, this.run);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private readonly run = (): void => {
    this.timer = null;
    this.armedAt = Infinity;
    const next = this.tick();
    if (next !== null) this.wake(next);
  };
}
