/**
 * One HTTP dequeue: a consumer that wants exactly one message, now (`?wait` absent or 0)
 * or within `wait` seconds, as the engine's DeliverySink.
 *
 * Invariants: the poll settles once (the first of: a delivery, the wait running out, the
 * queue deleted, the client gone, the server shutting down); the consumer takes at most
 * one delivery (maxMessages 1, maxInFlight 1) and is unsubscribed by `end()`, which the
 * route calls once it has the outcome, never from inside the engine. A delivery made to a
 * client that has gone stays leased until its visibility timeout (at-least-once).
 */
import type { Broker } from '../engine/broker';
import type { Consumer, DeliverySink } from '../engine/consumer';
import type { DeliveredMessage } from '../engine/message';
import { errors, type CoraError } from '../errors';
import * as v from '../validate';
import { dequeuedItemJson, type ItemJson } from './shapes';

export type PollOutcome =
  | { kind: 'item'; item: ItemJson }
  /** Nothing became visible in time, or the client went away. */
  | { kind: 'empty' }
  | { kind: 'failed'; error: CoraError };

const WAIT = /^\d+(\.\d+)?$/;

/** `?wait=<seconds>` (decimals allowed, at most 12 h) as milliseconds, rounded up; 0 when absent. */
export function waitParam(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!WAIT.test(raw)) throw errors.invalid(`wait is '${raw.slice(0, 40)}'; give a number of seconds, e.g. ?wait=20`);
  return v.waitMs(Math.ceil(Number(raw) * 1000), 'wait');
}

export class LongPoll implements DeliverySink {
  readonly outcome: Promise<PollOutcome>;
  private resolve!: (outcome: PollOutcome) => void;
  private settled = false;
  private consumer: Consumer | null = null;

  constructor(private readonly broker: Broker) {
    this.outcome = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Subscribes; throws a CoraError (unknown queue, too many consumers) before anything is leased. */
  start(queue: string, waitMs: number): void {
    const q = this.broker.queue(queue);
    this.consumer = this.broker.subscribe(
      queue,
      { maxInFlight: 1, maxMessages: 1, visibilityTimeoutMs: q.settings.visibilityTimeoutMs, idleMs: waitMs, deadlineAt: null },
      this,
    );
  }

  deliver(m: DeliveredMessage): void {
    this.settle({ kind: 'item', item: dequeuedItemJson(m) });
  }

  expired(): void {
    this.settle({ kind: 'empty' });
  }

  closed(reason: CoraError): void {
    this.settle({ kind: 'failed', error: reason });
  }

  /** The client went away: stop waiting (a message already delivered stays leased). */
  abandon(): void {
    this.end();
    this.settle({ kind: 'empty' });
  }

  /** Server shutdown: the poll ends with SHUTTING_DOWN unless it already has its outcome. */
  shutdown(): void {
    this.end();
    this.settle({ kind: 'failed', error: errors.shuttingDown() });
  }

  /** Unsubscribes the consumer (idempotent). Not from inside a sink callback. */
  end(): void {
    if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
    this.consumer = null;
  }

  private settle(outcome: PollOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(outcome);
  }
}
