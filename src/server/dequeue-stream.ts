/**
 * One Dequeue call: the engine's DeliverySink on top of a grpc-js server stream.
 *
 * Deliveries made in one turn of the event loop go out together as one DequeueResponse
 * (flushed on setImmediate, or at once when a frame is full). When grpc-js says its buffer
 * is full (write() returns false) the consumer is paused, so the engine leases nothing more
 * to this stream until 'drain'. The stream ends with OK after max_messages or wait_time,
 * with UNAVAILABLE at shutdown, with NOT_FOUND when the queue is deleted; when the client
 * cancels, its deliveries stay leased until acked or expired (at-least-once).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DequeueRequest, DequeueResponse, Message as WireMessage } from '../../generated/coramq/v1/queue';
import type { Broker } from '../engine/broker';
import type { Consumer, ConsumerOptions, DeliverySink } from '../engine/consumer';
import type { DeliveredMessage } from '../engine/message';
import { errors, type CoraError } from '../errors';
import type { Logger } from '../logger';
import { toWireMessage } from './convert';
import { toStatus } from './grpc-status';

/** A frame is flushed at once when it reaches this many messages or bytes of payload. */
const FRAME_MAX_MESSAGES = 256;
const FRAME_MAX_BYTES = 256 * 1024;

export type DequeueCall = ServerWritableStream<DequeueRequest, DequeueResponse>;

export class DequeueStream implements DeliverySink {
  private pending: WireMessage[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private consumer: Consumer | null = null;
  /** Set when the consumer has taken its last delivery (max_messages). */
  private done = false;
  private ended = false;

  constructor(
    private readonly call: DequeueCall,
    private readonly broker: Broker,
    private readonly log: Logger,
    private readonly onEnd: (stream: DequeueStream) => void,
  ) {}

  /** Subscribes; throws a CoraError (unknown queue, too many streams) before anything is sent. */
  start(queue: string, options: ConsumerOptions): void {
    this.call.on('cancelled', () => this.cancelled());
    this.call.on('drain', () => {
      if (this.consumer !== null && !this.ended) this.broker.resume(this.consumer);
    });
    this.consumer = this.broker.subscribe(queue, options, this);
    if (this.ended) this.consumer = null;
  }

  deliver(m: DeliveredMessage, consumer: Consumer): void {
    const wire = toWireMessage(m);
    this.pending.push(wire);
    this.pendingBytes += wire.payload.length;
    if (consumer.remaining === 0) this.done = true;
    if (this.pending.length >= FRAME_MAX_MESSAGES || this.pendingBytes >= FRAME_MAX_BYTES) {
      this.write(consumer);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
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
    if (this.pending.length > 0 && this.consumer !== null) this.write(this.consumer);
    if (this.done) {
      if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
      this.finish(null);
    }
  };

  private write(consumer: Consumer | null): void {
    const frame: DequeueResponse = { messages: this.pending };
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.call.write(frame) && consumer !== null) consumer.paused = true;
  }

  /** Sends what is pending and ends the call: OK when `error` is null. */
  private finish(error: CoraError | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pending.length > 0) this.write(null);
    if (error === null) this.call.end();
    else this.call.emit('error', toStatus(error, this.log));
    this.onEnd(this);
  }

  private cancelled(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    if (this.consumer !== null) this.broker.unsubscribe(this.consumer);
    this.onEnd(this);
  }
}
