/**
 * Groups items added close together into batches, whatever their queues (a batch may carry
 * entries for several queues: EnqueueBatchEntry.queue, AckEntry.queue). A batch goes out when
 * it reaches `maxSize`, or when the linger is over: on the next turn of the event loop
 * (setImmediate) when `linger` is 0, else `linger` ms after the first item of the round.
 * One scheduled flush at most; no timer per item, no allocation per item.
 *
 * Ensures: every item added is handed to `send` exactly once, in the order added, in batches
 * of at most `maxSize`.
 */
import type { Clock } from './clock';

export interface BatchingOptions {
  /**
   * The most messages (or acks) in one batch; at most the server's --max-batch-size (1000 by
   * default). When given, every batch keeps to it. By default the cap starts at 32 on the
   * stream transport: a burst goes out as several batches, so the server works on the first
   * while the next are still being made (E through the client was about 1.3-1.7x faster than
   * with 256 here); 256 on the unary transport, where each batch costs a call. It then grows
   * with the entries waiting for answers, to a quarter of them and at most 256 (batch-call.ts).
   */
  maxSize?: number;
  /** How long a call waits for others to join its batch, in ms. Default 0: until the next turn of the event loop. */
  linger?: number;
  /**
   * How batches travel. 'stream' (default): on one long-lived EnqueueStream / AckStream, which
   * saves a call per batch (several times the throughput on grpc-js). 'unary': one
   * EnqueueBatch / AckBatch call per batch (for proxies that do not carry bidirectional streams).
   */
  transport?: 'stream' | 'unary';
}

/** The default `maxSize` for these options (see `BatchingOptions.maxSize`). */
export function defaultMaxSize(options: BatchingOptions): number {
  return options.transport === 'unary' ? 256 : 32;
}

export class Coalescer<T> {
  private open: T[] = [];
  private scheduled = false;
  private timer: unknown = null;
  private immediate: NodeJS.Immediate | null = null;
  maxSize: number;
  readonly linger: number;

  constructor(
    options: BatchingOptions,
    private readonly clock: Clock,
    private readonly send: (items: T[]) => void,
  ) {
    this.maxSize = Math.max(1, Math.floor(options.maxSize ?? defaultMaxSize(options)));
    this.linger = Math.max(0, options.linger ?? 0);
  }

  add(item: T): void {
    const batch = this.open;
    batch.push(item);
    if (batch.length >= this.maxSize) {
      this.open = [];
      this.sendAll(batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      if (this.linger === 0) this.immediate = setImmediate(this.flush);
      else this.timer = this.clock.setTimer(this.linger, this.flush);
    }
  }

  /** Sends the open batch now. */
  readonly flush = (): void => {
    if (this.scheduled) {
      this.scheduled = false;
      if (this.immediate !== null) clearImmediate(this.immediate);
      if (this.timer !== null) this.clock.clearTimer(this.timer);
      this.immediate = this.timer = null;
    }
    if (this.open.length === 0) return;
    const batch = this.open;
    this.open = [];
    this.sendAll(batch);
  };

  /**
   * Sends `items` in batches of at most maxSize (more than one only after the cap was lowered).
   * The cap is read once: `send` may change it (batch-call.ts sizes it by what is unanswered).
   */
  private sendAll(items: T[]): void {
    const size = this.maxSize;
    if (items.length <= size) return this.send(items);
    for (let i = 0; i < items.length; i += size) this.send(items.slice(i, i + size));
  }
}
