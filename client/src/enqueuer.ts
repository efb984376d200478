/**
 * Enqueue, coalesced: `enqueue` calls made close together go out as one EnqueueBatch (or
 * EnqueueStream request), whatever their queues (batch-call.ts), and each caller gets its own
 * result or error from its entry. The item is the batch entry itself (no copy); its promise is
 * the only other allocation.
 *
 * After UNAVAILABLE, entries with an id are sent again after a backoff while their deadline
 * allows (the server deduplicates a live id, so a repeat cannot enqueue twice; the repeat may
 * answer `duplicate: true` for the caller's own first attempt); entries without an id fail
 * with UnavailableError, since they may have been enqueued. An entry whose signal aborts
 * fails at once with CancelledError; if its batch was sent already, the message may still be
 * enqueued.
 */
import type { EnqueueBatchEntry, EnqueueBatchResponse, EnqueueResult as WireResult } from '../../generated/coramq/v1/queue';
import type { Duration } from '../../generated/google/protobuf/duration';
import { batchAnswer, BatchCall, BatchItem } from './batch-call';
import type { Done } from './connection';
import { Pipeline } from './pipeline';
import { toError, type CoraMQError } from './errors';

export interface EnqueueResult {
  /** The message's id: the one given, or the ULID the server made. */
  id: string;
  /** True when a message with this id was already live in the queue; nothing was added. */
  duplicate: boolean;
}

/** One pending enqueue: a batch entry, with its caller's promise. */
export class EnqueueItem extends BatchItem implements EnqueueBatchEntry {
  resolve!: (result: EnqueueResult) => void;
  reject!: (err: CoraMQError) => void;
  attempts = 0;

  constructor(
    target: string,
    public id: string,
    public payload: Buffer,
    public priority: number,
    public delay: Duration | undefined,
    public attributes: { [key: string]: string },
    deadlineAt: number,
  ) {
    super(target, deadlineAt);
  }

  protected failed(err: CoraMQError): void {
    this.reject(err);
  }

  answer(r: WireResult): void {
    if (r.error !== undefined) this.fail(toError(r.error.code, r.error.reason, r.error.message));
    else if (this.settle()) this.resolve({ id: r.id, duplicate: r.duplicate });
  }
}

export class Enqueuer extends BatchCall<EnqueueItem, EnqueueBatchResponse, WireResult> {
  protected readonly stream = this.options.transport === 'unary' ? null : new Pipeline(this.conn, 'enqueueStream', this.clock);

  enqueue(item: EnqueueItem, signal: AbortSignal | undefined): Promise<EnqueueResult> {
    const p = new Promise<EnqueueResult>((resolve, reject) => {
      item.resolve = resolve;
      item.reject = reject;
    });
    if (signal === undefined || item.watch(signal, 'enqueue')) this.add(item);
    return p;
  }

  protected call(queue: string, items: EnqueueItem[], deadlineAt: number, done: Done<EnqueueBatchResponse>): void {
    if (this.stream === null) this.conn.unary('enqueueBatch', { queue, messages: items }, deadlineAt, undefined, done);
    else this.stream.send({ queue, messages: items }, deadlineAt, batchAnswer(done));
  }

  protected results(res: EnqueueBatchResponse): WireResult[] {
    return res.results;
  }

  protected answer(item: EnqueueItem, result: WireResult): void {
    item.answer(result);
  }

  protected override transient(items: EnqueueItem[], err: CoraMQError): void {
    const now = Date.now();
    const again: EnqueueItem[] = [];
    let wait = 0;
    for (const item of items) {
      const delay = this.conn.backoff.delay(item.attempts);
      if (item.id === '' || now + delay >= item.deadlineAt) item.fail(err);
      else {
        item.attempts++;
        wait = Math.max(wait, delay);
        again.push(item);
      }
    }
    if (again.length === 0) return;
    this.conn.later(wait, () => {
      for (const item of again) if (!item.settled) this.add(item);
      this.flush();
    });
  }
}
