/**
 * `subscribe()`: a Dequeue subscription as an AsyncIterable of messages. Messages wait in a
 * buffer until the loop takes them; the server never has more than `maxInFlight` unsettled
 * deliveries out on the stream, so the buffer is bounded by it. Broken streams are reopened
 * (delivery-stream.ts); an error that reconnecting cannot fix (unknown queue, bad
 * argument, bad token) ends the loop by throwing it. Breaking out of the loop, `close()`,
 * the signal or the deadline end it quietly; messages still in the buffer are then nacked so
 * they go to another consumer (after GIVE_BACK_DELAY_MS).
 */
import { status } from '@grpc/grpc-js';
import type { BackoffOptions } from './backoff';
import type { CallOptions } from './call-options';
import type { Clock } from './clock';
import { optionalDuration } from './convert';
import { DeliveryStream, GIVE_BACK_DELAY_MS } from './delivery-stream';
import { UnavailableError, type CoraMQError } from './errors';
import { Fifo } from './fifo';
import type { MessageContext, ReceivedMessage } from './received-message';

export interface SubscribeOptions extends CallOptions {
  /** The most delivered messages not yet acked or nacked (prefetch). Default 100 (the server's default). */
  maxInFlight?: number;
  /** Lease length of each delivery, in ms. Default: the queue's visibility timeout. */
  visibilityTimeout?: number;
  /** Told about each broken stream before it is reopened. */
  onReconnect?: (err: CoraMQError, retryInMs: number) => void;
}

type Waiter = { resolve: (r: IteratorResult<ReceivedMessage>) => void; reject: (err: unknown) => void };

/** Errors a subscription cannot outlive by reconnecting: everything but unavailability and transport resets. */
export function fatalForSubscription(err: CoraMQError): boolean {
  return !(err instanceof UnavailableError) && err.code !== status.INTERNAL && err.code !== status.UNKNOWN && err.code !== status.CANCELLED;
}

export class Subscription implements AsyncIterableIterator<ReceivedMessage> {
  private readonly buffer = new Fifo<ReceivedMessage>();
  private waiter: Waiter | null = null;
  private error: CoraMQError | null = null;
  private ended = false;
  private readonly stream: DeliveryStream;
  private onAbort: (() => void) | undefined;
  private closing: Promise<void> | null = null;

  /** @internal */
  constructor(
    private readonly ctx: MessageContext,
    clock: Clock,
    readonly queue: string,
    private readonly options: SubscribeOptions & { deadlineAt: number; backoff?: BackoffOptions },
    private readonly onClosed: (s: Subscription) => void,
  ) {
    this.stream = new DeliveryStream(
      ctx,
      clock,
      {
        queue,
        maxMessages: 0,
        waitTime: undefined,
        visibilityTimeout: optionalDuration(options.visibilityTimeout, 'visibilityTimeout'),
        maxInFlight: options.maxInFlight ?? 0,
      },
      {
        deliver: (messages) => this.deliver(messages),
        interrupted: (err, wait) => options.onReconnect?.(err, wait),
        ended: (err) => this.finish(err),
      },
      { reconnect: true, fatal: fatalForSubscription, deadlineAt: options.deadlineAt, backoff: options.backoff },
    );
  }

  /** @internal Opens the stream (after the client has registered the subscription). */
  start(): void {
    const signal = this.options.signal;
    if (signal?.aborted) {
      this.finish(null);
      return;
    }
    if (signal !== undefined) {
      this.onAbort = () => void this.close();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.stream.start();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ReceivedMessage>> {
    const value = this.buffer.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended) {
      if (this.error === null) return Promise.resolve({ value: undefined, done: true });
      const err = this.error;
      this.error = null; // thrown once; the loop is over after that
      return Promise.reject(err);
    }
    if (this.waiter !== null) return Promise.reject(new Error('next() called again before the previous call resolved'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called when a for-await loop is left early (break, return, throw): closes the subscription. */
  async return(): Promise<IteratorResult<ReceivedMessage>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /**
   * Stops receiving: the stream is cancelled, messages received but not yet taken by the loop
   * are nacked (so they are delivered again at once), and a waiting `next()` ends the loop.
   * Messages the loop already took stay the caller's to settle.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stream.close();
      const left = this.buffer.drain();
      await Promise.allSettled(left.map((m) => m.nack({ delay: GIVE_BACK_DELAY_MS })));
    })();
    return this.closing;
  }

  private deliver(messages: ReceivedMessage[]): void {
    for (const msg of messages) {
      const w = this.waiter;
      if (w !== null) {
        this.waiter = null;
        w.resolve({ value: msg, done: false });
      } else this.buffer.push(msg);
    }
  }

  private finish(err: CoraMQError | null): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    if (this.onAbort !== undefined) this.options.signal!.removeEventListener('abort', this.onAbort);
    this.onClosed(this);
    const w = this.waiter;
    if (w === null || this.buffer.size > 0) return;
    this.waiter = null;
    if (err === null) w.resolve({ value: undefined, done: true });
    else {
      this.error = null;
      w.reject(err);
    }
  }
}
