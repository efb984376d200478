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
import { inspect, type InspectOptionsStylized } from 'node:util';
import { AckItem, settlePromise, type AckDone, type Acker } from './acker';
import { deadlineAt, type CallOptions } from './call-options';
import type { Connection } from './connection';
import { optionalDuration, timestampMs, toDuration } from './convert';
import { utf8Text } from '../../src/wire/proto-reader';
import { bytesAt, timeAt, type DeliveryView } from './dequeue-decoder';
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

/** How the message was settled: its ack, under way or done (the AckItem, which keeps ack()'s promise), or its nack. */
type Settlement = AckItem | { kind: 'nack'; promise: Promise<{ deadLettered: boolean }> };

const ACKED = Promise.resolve();

/**
 * While it is in flight a message is one object: its id, receipt, payload and times are read
 * from the bytes it was delivered in (a frame of at most 64 KiB, or a copy of its own bytes)
 * when they are first asked for (dequeue-decoder.ts says why). Its payload is a view of those
 * bytes, so keeping the payload keeps them.
 */
export class ReceivedMessage {
  readonly queue: string;
  readonly priority: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** How many times it has been delivered, this delivery included. */
  readonly deliveryCount: number;
  // Private (#) so that they stay out of console.log and JSON of a message.
  readonly #ctx: MessageContext;
  readonly #bytes: Buffer;
  // Where the id, receipt, payload and the two Timestamps are in #bytes: [at, end), -1 for an absent time.
  readonly #idAt: number;
  readonly #idEnd: number;
  readonly #receiptAt: number;
  readonly #receiptEnd: number;
  readonly #payloadAt: number;
  readonly #payloadEnd: number;
  readonly #enqueuedAt: number;
  readonly #enqueuedEnd: number;
  readonly #visibleAt: number;
  readonly #visibleEnd: number;
  #id: string | null = null;
  #receipt: string | null = null;
  #payload: Buffer | null = null;
  /** The end of the lease once extendVisibility() moved it, in ms. */
  #extendedTo: number | null = null;
  #settlement: Settlement | null = null;

  /** @internal `d` as the Dequeue decoder read it. */
  constructor(ctx: MessageContext, d: DeliveryView) {
    this.#ctx = ctx;
    this.queue = d.queue;
    this.priority = d.priority;
    this.attributes = d.attributes;
    this.deliveryCount = d.deliveryCount;
    this.#bytes = d.bytes;
    this.#idAt = d.idAt;
    this.#idEnd = d.idEnd;
    this.#receiptAt = d.receiptAt;
    this.#receiptEnd = d.receiptEnd;
    this.#payloadAt = d.payloadAt;
    this.#payloadEnd = d.payloadEnd;
    this.#enqueuedAt = d.enqueuedAt;
    this.#enqueuedEnd = d.enqueuedEnd;
    this.#visibleAt = d.visibleAt;
    this.#visibleEnd = d.visibleEnd;
  }

  get id(): string {
    return (this.#id ??= utf8Text(this.#bytes, this.#idAt, this.#idEnd));
  }

  /** Proof of this delivery (ack, nack and extendVisibility send it). */
  get receipt(): string {
    return (this.#receipt ??= utf8Text(this.#bytes, this.#receiptAt, this.#receiptEnd));
  }

  /** The body: a view of the bytes the message was delivered in (copy it to keep it without them). */
  get payload(): Buffer {
    return (this.#payload ??= bytesAt(this.#bytes, this.#payloadAt, this.#payloadEnd));
  }

  /** When it was enqueued (server time). */
  get enqueuedAt(): Date {
    return new Date(timeAt(this.#bytes, this.#enqueuedAt, this.#enqueuedEnd));
  }

  /** When its lease ends unless it is acked or extended (server time). */
  get visibleAt(): Date {
    return new Date(this.#extendedTo ?? timeAt(this.#bytes, this.#visibleAt, this.#visibleEnd));
  }

  /** What JSON.stringify and console.log show: the public fields (the times are getters, as before). */
  toJSON(): { id: string; queue: string; payload: Buffer; priority: number; attributes: Readonly<Record<string, string>>; deliveryCount: number; receipt: string } {
    return { id: this.id, queue: this.queue, payload: this.payload, priority: this.priority, attributes: this.attributes, deliveryCount: this.deliveryCount, receipt: this.receipt };
  }

  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    if (depth < 0) return options.stylize('[ReceivedMessage]', 'special');
    return `ReceivedMessage ${show(this.toJSON(), { ...options, depth })}`; // depth: the levels left below this one
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
    if (s instanceof AckItem) return s.promise ?? ACKED;
    if (s !== null) return this.alreadySettled('ack', s.kind);
    const item = this.#item(options, settlePromise, null);
    const promise = (item.promise = new Promise<void>((resolve, reject) => {
      item.resolve = resolve;
      item.reject = reject;
    }));
    this.#send(item, options);
    return promise;
  }

  /** @internal ack() with a callback (the worker's path: no promise). */
  ackThen(done: AckDone, options?: CallOptions): void {
    this.#send(this.#item(options, done, this), options);
  }

  /** An ack of this delivery, its id and receipt as the bytes it came with; `message` is for the item to keep (or null). */
  #item(options: CallOptions | undefined, done: AckDone, message: ReceivedMessage | null): AckItem {
    const item = new AckItem(this.queue, message, deadlineAt(options?.deadline, this.#ctx.deadline), done);
    item.keyBytes = this.#bytes;
    item.idAt = this.#idAt;
    item.idEnd = this.#idEnd;
    item.receiptAt = this.#receiptAt;
    item.receiptEnd = this.#receiptEnd;
    return item;
  }

  #send(item: AckItem, options: CallOptions | undefined): void {
    this.#settlement = item;
    this.#ctx.acker.ack(item, options?.signal);
  }

  /** The settlement under way or done; a failed ack counts as none. */
  #current(): Settlement | null {
    const s = this.#settlement;
    return s instanceof AckItem && s.error !== null ? null : s;
  }

  /** Gives the message back: it is delivered again after `delay` ms (or dead-lettered when out of deliveries). */
  nack(options?: NackOptions): Promise<{ deadLettered: boolean }> {
    const s = this.#current();
    if (s !== null) return s instanceof AckItem ? this.alreadySettled('nack', 'ack') : s.promise;
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
        const to = timestampMs(res!.visibleAt);
        this.#extendedTo = to;
        resolve(new Date(to));
      });
    });
  }

  private alreadySettled(what: string, kind: string): Promise<never> {
    return Promise.reject(new CoraMQError(`message '${this.id}' was ${kind}ed already; it cannot be ${what}ed`, status.FAILED_PRECONDITION));
  }
}
