/**
 * `consume()`: runs a handler for each message of a queue with bounded concurrency.
 *
 * - The stream asks for `concurrency` deliveries at a time; a message that arrives while
 *   every slot is busy (after a reconnect, the old stream's messages may still run) waits in
 *   a backlog, leased.
 * - A handler that returns (or resolves) gets its message acked, coalesced into AckBatch; one
 *   that throws gets it nacked with `retryDelay(deliveryCount)`. A handler may settle its
 *   message itself; then the worker leaves it.
 * - Every held message (running or waiting) has its lease extended while it is held
 *   (lease-keeper.ts), so a long handler does not see its message delivered again elsewhere.
 * - A broken stream is reopened with backoff (delivery-stream.ts); only errors no retry can
 *   fix (bad argument, bad token) stop the worker, and `done` rejects with them.
 * - `close()` stops taking messages, nacks the backlog, waits for running handlers and for
 *   the acks of their messages. Deliveries already on the wire when the stream is cancelled
 *   stay leased until their visibility timeout and are then delivered again.
 *
 * Every failure is reported to `onError` (default: console.error).
 */
import { status } from '@grpc/grpc-js';
import type { AckDone } from './acker';
import type { BackoffOptions } from './backoff';
import type { CallOptions } from './call-options';
import type { Clock } from './clock';
import { toDuration } from './convert';
import { DeliveryStream, GIVE_BACK_DELAY_MS } from './delivery-stream';
import { abortError, DeadlineExceededError, InvalidReceiptError, MessageNotFoundError, type CoraMQError } from './errors';
import { Fifo } from './fifo';
import { LeaseKeeper } from './lease-keeper';
import type { MessageContext, ReceivedMessage } from './received-message';

export type Handler = (message: ReceivedMessage) => unknown;

export interface WorkerEvent {
  /** What failed: the handler, settling a message, extending its lease, or the stream. */
  kind: 'handler' | 'ack' | 'nack' | 'extend' | 'connection';
  queue: string;
  message?: ReceivedMessage;
  /** For 'connection': when the stream is opened again, in ms (absent when the worker stops). */
  retryIn?: number;
}

export interface ConsumeOptions extends CallOptions {
  /** Handlers running at once (and deliveries asked for at a time). Default 1. */
  concurrency?: number;
  /** Lease length of each delivery, in ms; leases are extended while handlers run. Default 30 s. */
  visibilityTimeout?: number;
  /** Delay before a message whose handler threw is delivered again, in ms, or a function of its delivery count. Default 1 s doubling per delivery, at most 5 min. */
  retryDelay?: number | ((deliveryCount: number) => number);
  /** Told about every failure. Default: console.error. */
  onError?: (error: unknown, event: WorkerEvent) => void;
}

const DEFAULT_VISIBILITY_MS = 30_000;
export const defaultRetryDelay = (deliveryCount: number): number => Math.min(1000 * 2 ** Math.max(0, deliveryCount - 1), 300_000);

/** Errors after which reopening the stream cannot help. */
const FATAL = new Set<number>([status.INVALID_ARGUMENT, status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.UNIMPLEMENTED]);

function logError(error: unknown, e: WorkerEvent): void {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const about = e.message === undefined ? '' : ` (message ${e.message.id})`;
  const next = e.kind === 'connection' ? (e.retryIn === undefined ? '; the worker stops' : `; reconnecting in ${e.retryIn} ms`) : '';
  console.error(`coramq worker '${e.queue}': ${e.kind} failed${about}: ${what}${next}`);
}

export class Worker {
  private running = 0;
  private settling = 0;
  private readonly backlog = new Fifo<ReceivedMessage>();
  private stopped = false;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private readonly stream: DeliveryStream;
  private readonly keeper: LeaseKeeper;
  /** Messages whose lease an extension found gone: not acked when their handler ends. */
  private readonly lost = new Set<ReceivedMessage>();
  private readonly concurrency: number;
  private readonly retryDelay: (deliveryCount: number) => number;
  private readonly report: (error: unknown, event: WorkerEvent) => void;
  private onAbort: (() => void) | undefined;
  private finished!: (err: CoraMQError | null) => void;
  /** Handlers that returned, and that threw, so far. */
  processed = 0;
  failed = 0;
  /** Messages the worker acked and the server confirmed (durably, with durable storage). */
  acked = 0;
  /** Resolves when the worker has stopped and settled what it ran; rejects if it stopped on an error. */
  readonly done: Promise<void>;

  /** @internal */
  constructor(
    private readonly ctx: MessageContext,
    clock: Clock,
    readonly queue: string,
    private readonly handler: Handler,
    private readonly options: ConsumeOptions & { deadlineAt: number; backoff?: BackoffOptions },
    private readonly onClosed: (w: Worker) => void,
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    const leaseMs = options.visibilityTimeout ?? DEFAULT_VISIBILITY_MS;
    const delay = options.retryDelay ?? defaultRetryDelay;
    this.retryDelay = typeof delay === 'number' ? () => delay : delay;
    this.report = options.onError ?? logError;
    this.done = new Promise<void>((resolve, reject) => {
      this.finished = (err) => (err === null ? resolve() : reject(err));
    });
    this.done.catch(() => {}); // reported through onError; awaiting `done` is optional
    this.keeper = new LeaseKeeper(clock, leaseMs, (m, remaining, endsAt) => this.extend(m, remaining, endsAt));
    this.stream = new DeliveryStream(
      ctx,
      clock,
      { queue, maxMessages: 0, waitTime: undefined, visibilityTimeout: toDuration(leaseMs, 'visibilityTimeout'), maxInFlight: this.concurrency },
      {
        deliver: (messages) => this.deliver(messages),
        interrupted: (err, retryIn) => this.report(err, { kind: 'connection', queue, retryIn }),
        ended: (err) => this.streamEnded(err),
      },
      { reconnect: true, fatal: (err) => FATAL.has(err.code), deadlineAt: options.deadlineAt, backoff: options.backoff },
    );
  }

  /** Handlers running now. */
  get active(): number {
    return this.running;
  }

  /** @internal Messages held with a lease found lost, not yet finished (tests). */
  get lostLeases(): number {
    return this.lost.size;
  }

  /** @internal */
  start(): void {
    const signal = this.options.signal;
    if (signal?.aborted) return void this.close();
    if (signal !== undefined) {
      this.onAbort = () => void this.close();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.stream.start();
  }

  /**
   * Stops taking messages, gives back those not started, waits for running handlers and for
   * their messages' acks (or nacks). With a deadline, rejects with DeadlineExceededError if
   * handlers are still running then (they may still settle their messages later).
   */
  close(options: CallOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(null);
    if (options.deadline === undefined && options.signal === undefined) return this.closing;
    return this.bounded(this.closing, options);
  }

  private async shutdown(err: CoraMQError | null): Promise<void> {
    this.stopped = true;
    if (this.onAbort !== undefined) this.options.signal!.removeEventListener('abort', this.onAbort);
    this.stream.close();
    const left = this.backlog.drain();
    for (const m of left) if (!this.lost.delete(m)) this.giveBack(m, GIVE_BACK_DELAY_MS);
    await this.idle();
    this.keeper.stop();
    this.onClosed(this);
    this.finished(err);
  }

  private deliver(messages: ReceivedMessage[]): void {
    for (const m of messages) {
      if (this.stopped) {
        this.giveBack(m, GIVE_BACK_DELAY_MS);
        continue;
      }
      this.keeper.hold(m);
      if (this.running < this.concurrency) this.run(m);
      else this.backlog.push(m);
    }
  }

  private run(m: ReceivedMessage): void {
    this.running++;
    let result: unknown;
    try {
      result = this.handler(m);
    } catch (err) {
      this.handlerFailed(m, err);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        () => this.handlerDone(m),
        (err: unknown) => this.handlerFailed(m, err),
      );
    } else this.handlerDone(m);
  }

  private handlerDone(m: ReceivedMessage): void {
    this.running--;
    this.processed++;
    this.keeper.release(m);
    if (!m.settled && !this.lost.delete(m)) {
      this.settling++;
      m.ackThen(this.onAcked);
    }
    this.next();
  }

  /** Every ack of the worker reports here (one function, not a closure per message). */
  private readonly onAcked: AckDone = (err, item) => {
    if (err !== null) this.report(err, { kind: 'ack', queue: this.queue, message: item.message ?? undefined });
    else this.acked++;
    this.settled();
  };

  private handlerFailed(m: ReceivedMessage, err: unknown): void {
    this.running--;
    this.failed++;
    this.keeper.release(m);
    this.report(err, { kind: 'handler', queue: this.queue, message: m });
    if (!m.settled && !this.lost.delete(m)) this.giveBack(m, this.retryDelay(m.deliveryCount));
    this.next();
  }

  /** Nacks `m` with `delay`; a failure is reported (the message comes back when its lease ends). */
  private giveBack(m: ReceivedMessage, delay: number): void {
    this.keeper.release(m);
    this.settling++;
    m.nack({ delay }).then(
      () => this.settled(),
      (err: unknown) => {
        this.report(err, { kind: 'nack', queue: this.queue, message: m });
        this.settled();
      },
    );
  }

  private next(): void {
    while (!this.stopped && this.running < this.concurrency && this.backlog.size > 0) {
      const m = this.backlog.shift() as ReceivedMessage;
      if (!this.lost.delete(m)) this.run(m); // a lost lease: someone else has the message now
    }
    this.checkIdle();
  }

  private extend(m: ReceivedMessage, remainingMs: number, endsAt: number): void {
    m.extendVisibility(this.keeper.leaseMs, { deadline: Math.max(1, remainingMs) }).catch((err: unknown) => {
      if (err instanceof MessageNotFoundError || err instanceof InvalidReceiptError) {
        // Marked lost only while still held: once its handler has finished (or it was given
        // back) nothing would take it out of `lost` again.
        if (this.keeper.release(m)) this.lost.add(m);
      } else this.keeper.restore(m, endsAt);
      this.report(err, { kind: 'extend', queue: this.queue, message: m });
    });
  }

  private streamEnded(err: CoraMQError | null): void {
    if (err !== null) this.report(err, { kind: 'connection', queue: this.queue });
    this.closing ??= this.shutdown(err);
  }

  private settled(): void {
    this.settling--;
    this.checkIdle();
  }

  private idle(): Promise<void> {
    if (this.running === 0 && this.settling === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.running !== 0 || this.settling !== 0 || this.idleWaiters.length === 0) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiting) resolve();
  }

  private bounded(p: Promise<void>, options: CallOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ms = options.deadline instanceof Date ? options.deadline.getTime() - Date.now() : options.deadline;
      const timer = ms === undefined || ms === Infinity ? undefined : setTimeout(() => reject(new DeadlineExceededError(`worker '${this.queue}': ${this.running} handlers still running at the close deadline`, status.DEADLINE_EXCEEDED)), Math.max(0, ms));
      const onAbort = (): void => reject(abortError(options.signal!, `closing worker '${this.queue}'`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      });
    });
  }
}
