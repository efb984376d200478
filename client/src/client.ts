/**
 * CoraMQClient: the one object a user makes. Admin calls, enqueue (coalesced into
 * EnqueueBatch), receive (one poll), subscribe (an AsyncIterable) and consume (a worker),
 * over one gRPC channel. Every call takes `{ signal, deadline }`; every error is a CoraMQError.
 *
 * Safe calls are retried after UNAVAILABLE within their deadline: getQueue, listQueues,
 * enqueue and enqueueBatch when every message has an id, extendVisibility. Others are sent
 * once (they wait for the connection first, so a call made while the server restarts goes out
 * when it is back).
 */
import { status } from '@grpc/grpc-js';
import type { EnqueueBatchResponse } from '../../generated/coramq/v1/queue';
import { Acker } from './acker';
import type { BackoffOptions } from './backoff';
import { deadlineAt, type CallOptions } from './call-options';
import { systemClock, type Clock } from './clock';
import type { BatchingOptions } from './coalescer';
import { Connection, type ConnectionOptions, type Done, type RequestOf, type ResponseOf, type UnaryMethod } from './connection';
import { fromWireQueue, NO_ATTRIBUTES, optionalDuration, toBytes, toDuration, toWireConfig, type Payload, type QueueConfig, type QueueInfo } from './convert';
import { DeliveryStream } from './delivery-stream';
import { Enqueuer, EnqueueItem, type EnqueueResult } from './enqueuer';
import { abortError, CoraMQError, InvalidArgumentError, toError } from './errors';
import { ReceivedMessage, type MessageContext } from './received-message';
import { Subscription, type SubscribeOptions } from './subscription';
import { Worker, type ConsumeOptions, type Handler } from './worker';

export interface ClientOptions extends ConnectionOptions {
  /** Default deadline of each call, in ms (Infinity for none). Default 30 s. Streams have none unless given. */
  deadline?: number;
  /** How enqueue and ack calls are coalesced; `false` sends each enqueue as its own Enqueue call. */
  batching?: BatchingOptions | false;
  /** Time for the client's timers (tests). */
  clock?: Clock;
}

export interface EnqueueOptions extends CallOptions {
  /** 1-128 printable ASCII characters. A live id is not enqueued twice (`duplicate: true`), which also makes the call safe to retry. Default: the server makes a ULID. */
  id?: string;
  /** Higher is delivered first. Any int32. Default 0. */
  priority?: number;
  /** Deliver no earlier than this many ms from now. Default 0. */
  delay?: number;
  /** Up to 16 string attributes (keys of [A-Za-z0-9_.-], not starting with `coramq.`). */
  attributes?: Record<string, string>;
}

export interface BatchMessage {
  payload: Payload;
  /** The queue this message goes to. Default: the `queue` given to `enqueueBatch`. */
  queue?: string;
  id?: string;
  priority?: number;
  delay?: number;
  attributes?: Record<string, string>;
}

/** One entry's outcome in `enqueueBatch`: its id and duplicate flag, or its error. */
export type BatchResult = { ok: true; id: string; duplicate: boolean } | { ok: false; error: CoraMQError };

export interface ReceiveOptions extends CallOptions {
  /** The most messages to return. Default 1. */
  max?: number;
  /** How long to wait for a first message when none is ready, in ms. Default 0: return what is ready now. */
  wait?: number;
  /** Lease length of these deliveries, in ms. Default: the queue's visibility timeout. */
  visibilityTimeout?: number;
}

const DEFAULT_DEADLINE_MS = 30_000;

export class CoraMQClient {
  private readonly conn: Connection;
  private readonly clock: Clock;
  private readonly enqueuer: Enqueuer | null;
  private readonly acker: Acker;
  private readonly ctx: MessageContext;
  private readonly deadline: number;
  private readonly backoff: BackoffOptions | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private readonly workers = new Set<Worker>();
  private closing: Promise<void> | null = null;

  constructor(
    readonly address: string,
    options: ClientOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.deadline = options.deadline ?? DEFAULT_DEADLINE_MS;
    this.backoff = options.reconnect;
    this.conn = new Connection(address, options, this.clock);
    const batching = options.batching === false ? {} : (options.batching ?? {});
    this.enqueuer = options.batching === false ? null : new Enqueuer(this.conn, batching, this.clock);
    this.acker = new Acker(this.conn, batching, this.clock);
    this.ctx = { conn: this.conn, acker: this.acker, deadline: this.deadline };
  }

  /**
   * Resolves once the client is connected to the server. Calls wait for the connection by
   * themselves; this is for connecting ahead of traffic (so the first call does not pay for
   * it) and for failing fast at start-up: it rejects with DeadlineExceededError when no
   * connection is made within the deadline (default: the client's `deadline` option), and
   * with CancelledError when the signal aborts.
   */
  async ready(options: CallOptions = {}): Promise<void> {
    this.open();
    return this.conn.ready(deadlineAt(options.deadline, this.deadline), options.signal);
  }

  // ---- admin ----

  createQueue(name: string, config?: Partial<QueueConfig>, options?: CallOptions): Promise<QueueInfo> {
    return this.call('createQueue', () => ({ name, config: toWireConfig(config) }), options, false).then((r) => fromWireQueue(r.queue));
  }

  getQueue(name: string, options?: CallOptions): Promise<QueueInfo> {
    return this.call('getQueue', () => ({ name }), options, true).then((r) => fromWireQueue(r.queue));
  }

  /** Every queue, in name order (the pages are fetched one after another). */
  async listQueues(options?: CallOptions): Promise<QueueInfo[]> {
    const all: QueueInfo[] = [];
    const at = deadlineAt(options?.deadline, this.deadline);
    const whole = { signal: options?.signal, deadline: at === Infinity ? Infinity : new Date(at) }; // one deadline for every page
    let pageToken = '';
    do {
      const page = await this.call('listQueues', () => ({ pageSize: 0, pageToken }), whole, true);
      for (const q of page.queues) all.push(fromWireQueue(q));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return all;
  }

  /** Deletes a queue and every message in it. */
  async deleteQueue(name: string, options?: CallOptions): Promise<void> {
    await this.call('deleteQueue', () => ({ name }), options, false);
  }

  /** Drops every ready and delayed message; returns how many. */
  async purgeQueue(name: string, options?: CallOptions): Promise<number> {
    return (await this.call('purgeQueue', () => ({ name }), options, false)).purged;
  }

  // ---- producing ----

  /**
   * Adds one message. Calls made close together are sent as one EnqueueBatch (see the
   * `batching` option); each call still gets its own result or error.
   */
  enqueue(queue: string, payload: Payload, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    let item: EnqueueItem;
    try {
      this.open();
      item = new EnqueueItem(
        queue,
        options.id ?? '',
        toBytes(payload),
        options.priority ?? 0,
        optionalDuration(options.delay, 'delay'),
        options.attributes ?? (NO_ATTRIBUTES as Record<string, string>),
        deadlineAt(options.deadline, this.deadline),
      );
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.enqueuer !== null) return this.enqueuer.enqueue(item, options.signal);
    return new Promise((resolve, reject) => {
      const done: Done<ResponseOf<'enqueue'>> = (err, res) => (err === null ? resolve({ id: res!.id, duplicate: res!.duplicate }) : reject(err));
      const request = { queue, id: item.id, payload: item.payload, priority: item.priority, delay: item.delay, attributes: item.attributes };
      if (item.id === '') this.conn.unary('enqueue', request, item.deadlineAt, options.signal, done);
      else this.conn.retrying('enqueue', request, item.deadlineAt, options.signal, done);
    });
  }

  /**
   * Adds several messages in one EnqueueBatch call, in order: to `queue`, or to their own
   * `queue` where they name one (pass '' when every message names its own). Each entry
   * succeeds or fails on its own (one naming a queue that does not exist fails alone with
   * QueueNotFoundError). Retried after UNAVAILABLE only when every message has an id.
   */
  enqueueBatch(queue: string, messages: BatchMessage[], options?: CallOptions): Promise<BatchResult[]> {
    return this.call(
      'enqueueBatch',
      () => ({
        queue,
        messages: messages.map((m) => ({
          queue: m.queue ?? '',
          id: m.id ?? '',
          payload: toBytes(m.payload),
          priority: m.priority ?? 0,
          delay: optionalDuration(m.delay, 'delay'),
          attributes: m.attributes ?? {},
        })),
      }),
      options,
      messages.length > 0 && messages.every((m) => m.id !== undefined && m.id !== ''),
    ).then((res: EnqueueBatchResponse) =>
      res.results.map((r): BatchResult => (r.error === undefined ? { ok: true, id: r.id, duplicate: r.duplicate } : { ok: false, error: toError(r.error.code, r.error.reason, r.error.message) })),
    );
  }

  // ---- consuming ----

  /**
   * One poll: up to `max` messages, waiting up to `wait` ms for the first when none is ready.
   * Messages are leased to the caller until their visibility timeout.
   */
  async receive(queue: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.open();
    const max = options.max ?? 1;
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`max must be a whole number >= 1 (got ${max})`, status.INVALID_ARGUMENT);
    const wait = options.wait ?? 0;
    const at = deadlineAt(options.deadline, wait + this.deadline);
    // The first message as soon as there is one; then whatever else is ready, without waiting.
    const first = await this.poll(queue, 1, wait, at, options);
    if (first.length === 0 || max === 1) return first;
    return first.concat(await this.poll(queue, max - 1, 0, at, options));
  }

  /**
   * Messages as they arrive, for `for await`. At most `maxInFlight` are out unsettled at a
   * time; ack or nack each. Broken streams are reopened; leaving the loop closes it.
   */
  subscribe(queue: string, options: SubscribeOptions = {}): Subscription {
    this.open();
    const sub = new Subscription(
      this.ctx,
      this.clock,
      queue,
      { ...options, deadlineAt: deadlineAt(options.deadline, Infinity), backoff: this.backoff },
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(sub);
    sub.start();
    return sub;
  }

  /**
   * A worker: runs `handler` for each message with bounded concurrency, acks when it returns,
   * nacks with backoff when it throws, extends leases while it runs, reconnects when the
   * stream breaks. `await worker.close()` stops it gracefully.
   */
  consume(queue: string, handler: Handler, options: ConsumeOptions = {}): Worker {
    this.open();
    const worker = new Worker(
      this.ctx,
      this.clock,
      queue,
      handler,
      { ...options, deadlineAt: deadlineAt(options.deadline, Infinity), backoff: this.backoff },
      (w) => this.workers.delete(w),
    );
    this.workers.add(worker);
    worker.start();
    return worker;
  }

  /**
   * Closes gracefully: workers are closed (their running handlers finish and are acked),
   * subscriptions stop, pending enqueues and acks are sent and answered, then the channel
   * closes. Calls made after close() fail. With a deadline (or signal), workers whose handlers
   * still run then are left (their messages come back when their leases end), the channel is
   * closed anyway, and close() rejects with the first such worker's error.
   */
  close(options?: CallOptions): Promise<void> {
    this.closing ??= (async () => {
      const workers = await Promise.allSettled([...this.workers].map((w) => w.close(options)));
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      this.enqueuer?.flush();
      this.acker.flush();
      if (workers.every((w) => w.status === 'fulfilled')) await this.conn.drained();
      this.enqueuer?.end();
      this.acker.end();
      this.conn.close();
      const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    })();
    return this.closing;
  }

  // ---- plumbing ----

  /** Throws once close() was called: no new work after that. */
  private open(): void {
    if (this.closing !== null) throw new CoraMQError('the client is closed', status.CANCELLED);
  }

  /** A unary call as a promise; `request` is built inside so its validation errors reject. */
  private call<K extends UnaryMethod>(method: K, request: () => RequestOf<K>, options: CallOptions | undefined, safe: boolean): Promise<ResponseOf<K>> {
    return new Promise((resolve, reject) => {
      this.open();
      const done: Done<ResponseOf<K>> = (err, res) => (err === null ? resolve(res!) : reject(err));
      const at = deadlineAt(options?.deadline, this.deadline);
      const req = request();
      if (safe) this.conn.retrying(method, req, at, options?.signal, done);
      else this.conn.unary(method, req, at, options?.signal, done);
    });
  }

  /** One finite Dequeue: up to `max` deliveries, ending after `waitMs` without one. */
  private poll(queue: string, max: number, waitMs: number, at: number, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    return new Promise((resolve, reject) => {
      const got: ReceivedMessage[] = [];
      const signal = options.signal;
      const request = {
        queue,
        maxMessages: max,
        waitTime: toDuration(waitMs, 'wait'),
        visibilityTimeout: optionalDuration(options.visibilityTimeout, 'visibilityTimeout'),
        maxInFlight: Math.min(max, 10_000),
      };
      const onAbort = (): void => stream.close();
      const stream = new DeliveryStream(
        this.ctx,
        this.clock,
        request,
        {
          deliver: (messages: ReceivedMessage[]) => {
            for (const m of messages) got.push(m);
          },
          interrupted: () => {},
          ended: (err) => {
            signal?.removeEventListener('abort', onAbort);
            if (signal?.aborted) reject(abortError(signal, 'receive'));
            else if (err !== null) reject(err);
            else resolve(got);
          },
        },
        { reconnect: false, fatal: () => true, deadlineAt: at },
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.start();
    });
  }
}
