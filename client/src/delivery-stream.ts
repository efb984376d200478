/**
 * One logical Dequeue subscription over however many gRPC streams it takes: when a stream
 * breaks (server restart, network, shutdown), a new one is opened after a backoff, until
 * `close()`, the deadline, or an error that `fatal` says retrying cannot fix. Every frame's
 * messages go to `deliver` as they arrive.
 *
 * Ensures: at most one gRPC stream is open at a time; after `ended` is called nothing else is.
 * Deliveries of a broken stream stay leased on the server until they are settled or expire,
 * so acks of messages received before a break still work (unless the server restarted).
 */
import { status, type ClientReadableStream, type StatusObject } from '@grpc/grpc-js';
import type { DequeueRequest } from '../../generated/coramq/v1/queue';
import { Backoff, type BackoffOptions } from './backoff';
import type { Clock } from './clock';
import { DequeueDecoder } from './dequeue-decoder';
import { statusError, type CoraMQError } from './errors';
import { ReceivedMessage, type MessageContext } from './received-message';

/**
 * Messages given back on close are nacked with this delay, so that they become ready only
 * after the server has processed the cancellation of this stream: a nack processed before it
 * would hand them straight back to the (dying) stream, where they would wait out their lease.
 */
export const GIVE_BACK_DELAY_MS = 1;

export interface DeliveryHandler {
  deliver(messages: ReceivedMessage[]): void;
  /** A stream broke and another is opened in `retryInMs`. */
  interrupted(err: CoraMQError, retryInMs: number): void;
  /** The subscription is over: `err` null for close(), the deadline, or a finite poll's end. */
  ended(err: CoraMQError | null): void;
}

export interface DeliveryStreamOptions {
  /** Open a new stream when one breaks. */
  reconnect: boolean;
  /** Errors that end the subscription instead of a reconnect. */
  fatal: (err: CoraMQError) => boolean;
  deadlineAt: number;
  backoff?: BackoffOptions;
}

export class DeliveryStream {
  private call: ClientReadableStream<ReceivedMessage[]> | null = null;
  private retryTimer: unknown = null;
  private over = false;
  private readonly backoff: Backoff;
  /** Frames straight to ReceivedMessages (grpc-js calls it as the response deserializer). */
  private readonly decoder: DequeueDecoder<ReceivedMessage>;

  constructor(
    private readonly ctx: MessageContext,
    private readonly clock: Clock,
    private readonly request: DequeueRequest,
    private readonly handler: DeliveryHandler,
    private readonly options: DeliveryStreamOptions,
  ) {
    this.backoff = new Backoff(options.backoff);
    this.decoder = new DequeueDecoder((d) => new ReceivedMessage(ctx, d));
  }

  get closed(): boolean {
    return this.over;
  }

  start(): void {
    if (this.over || this.call !== null) return;
    this.retryTimer = null;
    let call: ClientReadableStream<ReceivedMessage[]>;
    try {
      call = this.ctx.conn.dequeue(this.request, this.options.deadlineAt, this.decoder.decode);
    } catch (err) {
      return this.end(err as CoraMQError); // the client was closed
    }
    this.call = call;
    call.on('data', (messages: ReceivedMessage[]) => {
      if (this.call !== call) return;
      this.backoff.reset();
      this.handler.deliver(messages);
    });
    call.on('status', (s: StatusObject) => this.onStatus(call, s));
    call.on('error', () => {}); // 'status' carries it
  }

  /** Stops for good: cancels the open stream or the pending reconnect; `ended(null)` follows. */
  close(): void {
    if (this.over) return;
    const call = this.call;
    this.call = null;
    if (this.retryTimer !== null) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = null;
    // On the next turn: grpc-js (1.14) does not send the cancellation of a call cancelled in
    // the same turn it was started on a ready channel, so the server would keep the stream.
    if (call !== null) setImmediate(() => call.cancel());
    this.end(null);
  }

  private onStatus(call: ClientReadableStream<ReceivedMessage[]>, s: StatusObject): void {
    if (this.call !== call) return;
    this.call = null;
    const expired = Date.now() >= this.options.deadlineAt;
    if (s.code === status.OK && (!this.options.reconnect || expired)) return this.end(null);
    if (s.code === status.DEADLINE_EXCEEDED && expired) return this.end(null);
    const err = s.code === status.OK ? null : statusError(s);
    if (err !== null && (!this.options.reconnect || this.options.fatal(err))) return this.end(err);
    const wait = this.backoff.next();
    if (err !== null) this.handler.interrupted(err, wait);
    this.retryTimer = this.clock.setTimer(wait, () => this.start());
  }

  private end(err: CoraMQError | null): void {
    if (this.over) return;
    this.over = true;
    this.handler.ended(err);
  }
}
