/**
 * A consumer is the engine's side of one Dequeue stream (or one HTTP long-poll): how many
 * of its deliveries may be unsettled at once, how many it still wants, and whether its
 * transport can take more now.
 *
 * Invariants: `inFlight` counts this consumer's deliveries not yet acked, nacked or expired;
 * the queue leases a message to it only while `hasCapacity`. Its wait timer (`waitAt`, kept
 * in the broker's heap of consumer deadlines) ends it when no message arrived for `idleMs`,
 * or at `deadlineAt`.
 */
import type { HeapItem } from './priority-heap';
import type { DeliveredMessage } from './message';
import type { CoraError } from '../errors';
import type { Queue } from './queue';

/** Where deliveries go. Implementations must not call back into the engine synchronously. */
export interface DeliverySink {
  /** `message` was just leased to `consumer`; copy what is needed now (it changes later). */
  deliver(message: DeliveredMessage, consumer: Consumer): void;
  /** The wait timer fired (no message for wait_time, or the deadline came). */
  expired(): void;
  /** The consumer was ended by the engine (queue deleted). */
  closed(reason: CoraError): void;
}

export interface ConsumerOptions {
  maxInFlight: number;
  visibilityTimeoutMs: number;
  /** Deliveries before the consumer is done; Infinity for no limit. */
  maxMessages: number;
  /** End when no message arrived for this long; null for never. */
  idleMs: number | null;
  /** End at this time regardless; null for never. */
  deadlineAt: number | null;
  /** Start paused: nothing is leased to it before `Broker.resume`. */
  paused?: boolean;
}

export class Consumer implements HeapItem {
  inFlight = 0;
  remaining: number;
  /** Set by the transport while it cannot take more (write backpressure, or its turn's deliveries are made). */
  paused: boolean;
  /** The queue it is subscribed to; null once it ended. */
  owner: Queue | null = null;
  // Intrusive FIFO of the queue's consumers waiting for a message (fair round robin).
  waitingPrev: Consumer | null = null;
  waitingNext: Consumer | null = null;
  waiting = false;
  /** Position in the broker's heap of consumer deadlines (-1: no wait timer). */
  heapIndex = -1;
  waitAt = 0;

  readonly maxInFlight: number;
  readonly visibilityTimeoutMs: number;
  readonly idleMs: number | null;
  readonly deadlineAt: number | null;

  constructor(
    options: ConsumerOptions,
    readonly sink: DeliverySink,
  ) {
    this.maxInFlight = options.maxInFlight;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs;
    this.remaining = options.maxMessages;
    this.idleMs = options.idleMs;
    this.deadlineAt = options.deadlineAt;
    this.paused = options.paused ?? false;
  }

  get hasCapacity(): boolean {
    return this.owner !== null && !this.paused && this.remaining > 0 && this.inFlight < this.maxInFlight;
  }

  /** When the wait timer should fire if the last delivery (or the start) was at `now`. */
  waitExpiry(now: number): number | null {
    const idle = this.idleMs === null ? null : now + this.idleMs;
    if (idle === null) return this.deadlineAt;
    return this.deadlineAt === null ? idle : Math.min(idle, this.deadlineAt);
  }
}
