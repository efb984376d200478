/**
 * A batch RPC that callers reach one item at a time: items are coalesced whatever their
 * queues (coalescer.ts) and sent as one call with the earliest deadline among them; each item
 * gets the result at its own position in the reply. A batch of one queue names it on the
 * request (the wire form every server version reads); a batch that mixes queues names each
 * entry's queue and leaves the request's empty, as the contract asks.
 *
 * How big a batch may be: the `maxSize` option when it is given. By default the cap starts at
 * `defaultMaxSize` (small, so that the server starts on the first batch of a burst while the
 * next are made) and grows to a quarter of the entries sent and not yet answered, up to
 * GROWN_MAX_SIZE: when thousands of entries are already on their way (256 subscriptions acking
 * 16,384 messages), more small batches only add a gRPC message each, which the server pays
 * for before it reads the next (bench/README.md, eleventh session).
 *
 * Failures of the whole call: BATCH_TOO_LARGE (the server's --max-batch-size is below our
 * cap) halves the cap and sends the items again, since nothing of a rejected batch was
 * applied; a mixed batch refused with INVALID_QUEUE_NAME comes from a server that predates
 * entry queues (it read an empty request queue; a current server answers that to a batch
 * whose every entry names a queue only when a name is empty), so this batch is sent again
 * split per queue (nothing of it was applied), and so are later mixed batches; UNAVAILABLE goes to
 * `transient` (by default: every item fails, since the call may have been applied); anything
 * else fails every item. Items settled before their batch is sent (aborted) are left out of it.
 */
import { status } from '@grpc/grpc-js';
import type { Clock } from './clock';
import { Coalescer, type BatchingOptions } from './coalescer';
import type { Connection, Done } from './connection';
import type { EntryError } from '../../generated/coramq/v1/queue';
import { abortError, CoraMQError, isTransient, toError } from './errors';

/** One caller's entry in a batch: its queue, its deadline, its signal, and whether it has its outcome. */
export abstract class BatchItem {
  /** True once the item has its outcome (answered, failed or aborted). */
  settled = false;
  /**
   * The entry's `queue` field on the wire: `target` while the item is in a batch that mixes
   * queues, '' (not sent) in a batch of one queue, whose request names it.
   */
  queue = '';
  /** Set only for calls with a signal. */
  private signal: AbortSignal | undefined = undefined;
  private onAbort: (() => void) | undefined = undefined;

  constructor(
    /** The queue the item is for. */
    readonly target: string,
    readonly deadlineAt: number,
  ) {}

  /** Hands the caller its error (called once). */
  protected abstract failed(err: CoraMQError): void;

  fail(err: CoraMQError): void {
    if (this.settled) return;
    this.settle();
    this.failed(err);
  }

  /** Fails the item with CancelledError when `signal` aborts; false if it has already. */
  watch(signal: AbortSignal, what: string): boolean {
    if (signal.aborted) {
      this.fail(abortError(signal, what));
      return false;
    }
    this.signal = signal;
    this.onAbort = () => this.fail(abortError(signal, what));
    signal.addEventListener('abort', this.onAbort, { once: true });
    return true;
  }

  /** Marks the outcome given; returns false if it was already. */
  protected settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
    return true;
  }
}

/**
 * A stream's answer as a call's: a batch that failed as a whole (`error` set) fails the call
 * with that error, as the unary call would have.
 */
export function batchAnswer<Res>(done: Done<Res>): Done<Res & { error?: EntryError }> {
  return (err, res) => {
    if (err !== null) done(err);
    else if (res?.error !== undefined) done(toError(res.error.code, res.error.reason, res.error.message));
    else done(null, res);
  };
}

/** The most a batch grows to while many entries wait for answers (the server's default --max-batch-size is 1000). */
export const GROWN_MAX_SIZE = 256;

export abstract class BatchCall<I extends BatchItem, Res, R> {
  protected readonly coalescer: Coalescer<I>;
  /** Entries sent and not yet answered (or failed). */
  private unanswered = 0;
  /** The cap when few entries wait for answers. */
  private base: number;
  /** The cap's upper bound: GROWN_MAX_SIZE, or `maxSize` when given; halved by BATCH_TOO_LARGE. */
  private ceiling: number;
  /** The server predates entry queues: a batch that mixes queues goes out as one batch per queue. */
  private perQueue = false;

  /** The stream batches travel on (null: one unary call per batch). */
  protected abstract readonly stream: { end(): void } | null;

  constructor(
    protected readonly conn: Connection,
    protected readonly options: BatchingOptions,
    protected readonly clock: Clock,
  ) {
    this.coalescer = new Coalescer<I>(options, clock, (items) => this.send(items));
    this.base = this.coalescer.maxSize;
    this.ceiling = options.maxSize === undefined ? Math.max(this.base, GROWN_MAX_SIZE) : this.base;
  }

  /** Sets the coalescer's cap for what is unanswered now (see the header). */
  private resize(): void {
    this.coalescer.maxSize = Math.min(this.ceiling, Math.max(this.base, this.unanswered >> 2));
  }

  /** Sends what is waiting for the next turn now. */
  flush(): void {
    this.coalescer.flush();
  }

  /** No more batches: ends the stream they travel on, if any (its pending answers still come). */
  end(): void {
    this.stream?.end();
  }

  /** Makes the call for `items`; `queue` is the request's ('' when the entries name theirs). */
  protected abstract call(queue: string, items: I[], deadlineAt: number, done: Done<Res>): void;
  /** The per-item results of a reply, in the order of the items. */
  protected abstract results(res: Res): R[];
  /** Hands one item its result. */
  protected abstract answer(item: I, result: R): void;

  /** The call failed with UNAVAILABLE. */
  protected transient(items: I[], err: CoraMQError): void {
    for (const item of items) item.fail(err);
  }

  protected add(item: I): void {
    this.coalescer.add(item);
  }

  private send(items: I[]): void {
    let deadlineAt = Infinity;
    let live = 0;
    let queue: string | null = null;
    let mixed = false;
    for (const item of items) {
      if (item.settled) continue;
      live++;
      if (item.deadlineAt < deadlineAt) deadlineAt = item.deadlineAt;
      if (queue === null) queue = item.target;
      else if (item.target !== queue) mixed = true;
    }
    if (live === 0) return;
    const batch = live === items.length ? items : items.filter((i) => !i.settled);
    if (mixed && this.perQueue) return this.sendPerQueue(batch);
    for (const item of batch) item.queue = mixed ? item.target : '';
    this.unanswered += batch.length;
    this.resize();
    this.call(mixed ? '' : (queue as string), batch, deadlineAt, (err, res) => {
      this.unanswered -= batch.length;
      this.resize();
      if (err !== null) this.failed(batch, mixed, err);
      else this.answered(batch, this.results(res as Res));
    });
  }

  /** One batch per queue, each in the order of its items. */
  private sendPerQueue(items: I[]): void {
    const byQueue = new Map<string, I[]>();
    for (const item of items) {
      const group = byQueue.get(item.target);
      if (group === undefined) byQueue.set(item.target, [item]);
      else group.push(item);
    }
    for (const group of byQueue.values()) this.send(group);
  }

  private answered(items: I[], results: R[]): void {
    for (let i = 0; i < items.length; i++) {
      if (i < results.length) this.answer(items[i], results[i]);
      else items[i].fail(new CoraMQError(`the server answered ${results.length} results for ${items.length} entries`, status.INTERNAL));
    }
  }

  private failed(items: I[], mixed: boolean, err: CoraMQError): void {
    if (err.reason === 'BATCH_TOO_LARGE' && items.length > 1) {
      this.ceiling = Math.max(1, Math.floor(items.length / 2));
      this.base = Math.min(this.base, this.ceiling);
      this.resize();
      for (const item of items) if (!item.settled) this.coalescer.add(item);
      this.coalescer.flush();
    } else if (err.reason === 'INVALID_QUEUE_NAME' && mixed) {
      // An empty queue name of our own caller also makes a current server refuse the batch:
      // then this batch is split (that caller gets its own error), but later ones are not.
      if (items.every((i) => i.target !== '')) this.perQueue = true;
      this.sendPerQueue(items.filter((i) => !i.settled));
    } else if (isTransient(err)) {
      this.transient(items, err);
    } else {
      for (const item of items) item.fail(err);
    }
  }
}
