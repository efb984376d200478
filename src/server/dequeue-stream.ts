/**
 * One Dequeue call: the engine's DeliverySink on top of a grpc-js server stream.
 *
 * Deliveries made by one piece of work (an ack batch that freed room, an enqueue batch, a
 * timer tick) go out together as one DequeueResponse, encoded as they are made
 * (delivery-frame.ts) and flushed on a microtask once that work is done, or at once when a
 * frame is full. A microtask, not setImmediate: the frame then leaves with the replies of
 * the same work, a turn of the event loop earlier, and the consumer starts on it while the
 * server handles the next ack batch (bench/README.md, sixth session). The consumer is paused,
 * so the engine leases nothing more to this stream, while grpc-js says its buffer is full
 * (write() returns false, until 'drain') and while the server has made its deliveries for
 * this turn of the event loop (delivery-pacer.ts). The stream ends with OK after max_messages or
 * wait_time, with UNAVAILABLE at shutdown, with NOT_FOUND when the queue is deleted; when
 * the client cancels, its deliveries stay leased until acked or expired (at-least-once).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DequeueRequest, DequeueResponse } from '../../generated/coramq/v1/queue';
import type { Broker } from '../engine/broker';
import type { Consumer, ConsumerOptions, DeliverySink } from '../engine/consumer';
import type { DeliveredMessage } from '../engine/message';
import { errors, type CoraError } from '../errors';
import type { Logger } from '../logger';
import { DeliveryFrame } from './delivery-frame';
import type { DeliveryPacer, Paced } from './delivery-pacer';
import { toStatus } from './grpc-status';

/** A frame is flushed at once when it reaches this many messages or bytes. */
const FRAME_MAX_MESSAGES = 256;
const FRAME_MAX_BYTES = 256 * 1024;

/** A Dequeue call as the handler gets it, typed from the generated service. */
export type DequeueCall = ServerWritableStream<DequeueRequest, DequeueResponse>;
/** The same call as it is: server.ts serializes Dequeue with dequeueFrameSerializer, so it takes encoded frames. */
type FrameCall = ServerWritableStream<DequeueRequest, Buffer>;

export class DequeueStream implements DeliverySink, Paced {
  private readonly frame = new DeliveryFrame();
  private flushScheduled = false;
  private consumer: Consumer | null = null;
  /** Set when the consumer has taken its last delivery (max_messages). */
  private done = false;
  private ended = false;
  /** Paused by grpc-js's backpressure, until 'drain'. */
  private writeBlocked = false;
  /** Paused until the pacer's next turn. */
  private paced = false;

  private readonly call: FrameCall;

  constructor(
    call: DequeueCall,
    private readonly broker: Broker,
    private readonly pacer: DeliveryPacer,
    private readonly log: Logger,
    private readonly onEnd: (stream: DequeueStream) => void,
  ) {
    this.call = call as unknown as FrameCall;
  }

  /** Subscribes; throws a CoraError (unknown queue, too many streams) before anything is sent. */
  start(queue: string, options: ConsumerOptions): void {
    this.call.on('cancelled', () => this.cancelled());
    this.call.on('drain', () => {
      this.writeBlocked = false;
      this.unpause();
    });
    // A stream that comes in a turn whose deliveries are all made starts in the next one; not
    // a wait_time 0 call, which ends at once with what is ready.
    if (options.idleMs !== 0 && this.pacer.spent()) {
      this.paced = true;
      this.pacer.wait(this);
    }
    this.consumer = this.broker.subscribe(queue, { ...options, paused: this.paced }, this);
    if (this.ended) this.consumer = null;
  }

  deliver(m: DeliveredMessage, consumer: Consumer): void {
    this.frame.add(m);
    if (consumer.remaining === 0) this.done = true;
    if (this.frame.count >= FRAME_MAX_MESSAGES || this.frame.bytes >= FRAME_MAX_BYTES) {
      this.write(consumer);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    if (!this.pacer.take() && !this.paced) {
      this.paced = true;
      consumer.paused = true;
      this.pacer.wait(this);
    }
  }

  /** The pacer's next turn. */
  resume(): void {
    this.paced = false;
    this.unpause();
  }

  private unpause(): void {
    if (this.consumer !== null && !this.ended && !this.paced && !this.writeBlocked) this.broker.resume(this.consumer);
  }

  expired(): void {
    this.finish(null);
  }

  closed(reason: CoraError): void {
    this.finish(reason);
  }

  /** Server shutdown: ends the stream with UNAVAILABLE. */
  shutdown(): void {
    if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
    this.finish(errors.shuttingDown());
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.ended) return;
    if (this.frame.count > 0 && this.consumer !== null) this.write(this.consumer);
    if (this.done) {
      if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
      this.finish(null);
    }
  };

  private write(consumer: Consumer | null): void {
    if (!this.call.write(this.frame.take()) && consumer !== null) {
      this.writeBlocked = true;
      consumer.paused = true;
    }
  }

  /** Sends what is pending and ends the call: OK when `error` is null. */
  private finish(error: CoraError | null): void {
    if (this.ended) return;
    this.ended = true;
    this.pacer.forget(this);
    if (this.frame.count > 0) this.write(null);
    if (error === null) this.call.end();
    else this.call.emit('error', toStatus(error, this.log));
    this.onEnd(this);
  }

  private cancelled(): void {
    if (this.ended) return;
    this.ended = true;
    this.pacer.forget(this);
    this.frame.clear();
    if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
    this.onEnd(this);
  }
}
