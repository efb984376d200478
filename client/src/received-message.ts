/**
 * A delivered message as the client hands it out: its fields, its body as text or JSON, and
 * how to settle it. `ack()` is coalesced with other acks of the client into AckBatch calls;
 * `nack()` and `extendVisibility()` are calls of their own.
 *
 * A message is settled once: a second `ack()` returns the first one's promise; acking a
 * nacked message (or the other way round) is an error. A failed ack or nack leaves it
 * unsettled, so it can be tried again.
 */
import { status } from '@grpc/grpc-js';
import { AckItem, settlePromise, type AckDone, type Acker } from './acker';
import { deadlineAt, type CallOptions } from './call-options';
import type { Connection } from './connection';
import { optionalDuration, timestampMs, toDuration } from './convert';
import type { Delivery } from './dequeue-decoder';
import { CoraMQError } from './errors';

/** What a message needs from the client that received it. */
export interface MessageContext {
  readonly conn: Connection;
  readonly acker: Acker;
  /** The client's default deadline, in ms. */
  readonly deadline: number;
}

export interface NackOptions extends CallOptions {
  /** Deliver it again no earlier than this many ms from now. Default 0. */
  delay?: number;
}

/**
 * How the message was settled: its ack under way (the AckItem itself), its ack done (then only
 * ack()'s promise is kept, or ACKED for an ack without one: the item is garbage), or its nack.
 */
type Settlement = AckItem | Promise<void> | { kind: 'nack'; promise: Promise<{ deadLettered: boolean }> };

const ACKED = Promise.resolve();

export class ReceivedMessage {
  readonly id: string;
  readonly queue: string;
  readonly payload: Buffer;
  readonly priority: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** How many times it has been delivered, this delivery included. */
  readonly deliveryCount: number;
  /** Proof of this delivery (ack, nack and extendVisibility send it). */
  readonly receipt: string;
  // Private (#) so that they stay out of console.log and JSON of a message.
  readonly #ctx: MessageContext;
  readonly #enqueuedAt: number;
  #visibleAt: number;
  #settlement: Settlement | null = null;

  /** @internal `d` as the Dequeue decoder read it. */
  constructor(ctx: MessageContext, d: Delivery) {
    this.#ctx = ctx;
    this.id = d.id;
    this.queue = d.queue;
    this.payload = d.payload;
    this.priority = d.priority;
    this.attributes = d.attributes;
    this.deliveryCount = d.deliveryCount;
    this.receipt = d.receipt;
    this.#enqueuedAt = d.enqueuedAt;
    this.#visibleAt = d.visibleAt;
  }

  /** When it was enqueued (server time). */
  get enqueuedAt(): Date {
    return new Date(this.#enqueuedAt);
  }

  /** When its lease ends unless it is acked or extended (server time). */
  get visibleAt(): Date {
    return new Date(this.#visibleAt);
  }

  /** True once ack() or nack() succeeded or is under way. */
  get settled(): boolean {
    return this.#current() !== null;
  }

  text(): string {
    return this.payload.toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** Removes the message for good. Rejects with MessageNotFoundError or InvalidReceiptError when the lease was lost. */
  ack(options?: CallOptions): Promise<void> {
    const s = this.#current();
    if (s instanceof Promise) return s;
    if (s instanceof AckItem) return s.promise ?? Promise.resolve();
    if (s !== null) return this.alreadySettled('ack', s.kind);
    const item = new AckItem(this, deadlineAt(options?.deadline, this.#ctx.deadline), settlePromise);
    const promise = (item.promise = new Promise<void>((resolve, reject) => {
      item.resolve = resolve;
      item.reject = reject;
    }));
    this.#send(item, options);
    return promise;
  }

  /** @internal ack() with a callback (the worker's path: no promise). */
  ackThen(done: AckDone, options?: CallOptions): void {
    this.#send(new AckItem(this, deadlineAt(options?.deadline, this.#ctx.deadline), done), options);
  }

  #send(item: AckItem, options: CallOptions | undefined): void {
    this.#settlement = item;
    this.#ctx.acker.ack(item, options?.signal);
  }

  /** @internal `item`, this message's ack, succeeded. */
  acked(item: AckItem): void {
    if (this.#settlement === item) this.#settlement = item.promise ?? ACKED;
  }

  /** The settlement under way or done; a failed ack counts as none. */
  #current(): Settlement | null {
    const s = this.#settlement;
    return s instanceof AckItem && s.error !== null ? null : s;
  }

  /** Gives the message back: it is delivered again after `delay` ms (or dead-lettered when out of deliveries). */
  nack(options?: NackOptions): Promise<{ deadLettered: boolean }> {
    const s = this.#current();
    if (s !== null) return s instanceof AckItem || s instanceof Promise ? this.alreadySettled('nack', 'ack') : s.promise;
    let delay;
    try {
      delay = optionalDuration(options?.delay, 'delay');
    } catch (err) {
      return Promise.reject(err);
    }
    let resolve!: (r: { deadLettered: boolean }) => void, reject!: (err: CoraMQError) => void;
    const promise = new Promise<{ deadLettered: boolean }>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const settlement: Settlement = { kind: 'nack', promise };
    this.#settlement = settlement;
    const request = { queue: this.queue, id: this.id, receipt: this.receipt, delay };
    this.#ctx.conn.unary('nack', request, deadlineAt(options?.deadline, this.#ctx.deadline), options?.signal, (err, res) => {
      if (err === null) return resolve({ deadLettered: res!.deadLettered });
      if (this.#settlement === settlement) this.#settlement = null;
      reject(err);
    });
    return promise;
  }

  /**
   * Moves the end of the lease to `ms` from now; resolves with the new end. Safe to repeat, so
   * it is retried after UNAVAILABLE within its deadline.
   */
  extendVisibility(ms: number, options?: CallOptions): Promise<Date> {
    return new Promise<Date>((resolve, reject) => {
      let visibilityTimeout;
      try {
        visibilityTimeout = toDuration(ms, 'visibility timeout');
      } catch (err) {
        return reject(err);
      }
      const request = { queue: this.queue, id: this.id, receipt: this.receipt, visibilityTimeout };
      this.#ctx.conn.retrying('extendVisibility', request, deadlineAt(options?.deadline, this.#ctx.deadline), options?.signal, (err, res) => {
        if (err !== null) return reject(err);
        this.#visibleAt = timestampMs(res!.visibleAt);
        resolve(new Date(this.#visibleAt));
      });
    });
  }

  private alreadySettled(what: string, kind: string): Promise<never> {
    return Promise.reject(new CoraMQError(`message '${this.id}' was ${kind}ed already; it cannot be ${what}ed`, status.FAILED_PRECONDITION));
  }
}
