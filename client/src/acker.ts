/**
 * Acks, coalesced: acks made close together go out as one AckBatch (or AckStream request),
 * whatever their queues (batch-call.ts); each gets its own outcome (MessageNotFoundError,
 * InvalidReceiptError).
 * Acks are not retried after UNAVAILABLE: the batch may have been applied, and a message whose
 * ack was lost is delivered again (at-least-once).
 */
import type { AckBatchResponse, AckEntry, AckResult } from '../../generated/coramq/v1/queue';
import { batchAnswer, BatchCall, BatchItem } from './batch-call';
import type { Done } from './connection';
import { Pipeline } from './pipeline';
import { toError, type CoraMQError } from './errors';

/** One pending ack: the batch entry, with its caller's callback. */
export class AckItem extends BatchItem implements AckEntry {
  constructor(
    target: string,
    readonly id: string,
    readonly receipt: string,
    deadlineAt: number,
    private readonly done: (err: CoraMQError | null) => void,
  ) {
    super(target, deadlineAt);
  }

  protected failed(err: CoraMQError): void {
    this.done(err);
  }

  answer(r: AckResult): void {
    if (r.error !== undefined) this.fail(toError(r.error.code, r.error.reason, r.error.message));
    else if (this.settle()) this.done(null);
  }
}

export class Acker extends BatchCall<AckItem, AckBatchResponse, AckResult> {
  protected readonly stream = this.options.transport === 'unary' ? null : new Pipeline(this.conn, 'ackStream', this.clock);

  ack(item: AckItem, signal: AbortSignal | undefined): void {
    if (signal === undefined || item.watch(signal, 'ack')) this.add(item);
  }

  protected call(queue: string, items: AckItem[], deadlineAt: number, done: Done<AckBatchResponse>): void {
    if (this.stream === null) this.conn.unary('ackBatch', { queue, entries: items }, deadlineAt, undefined, done);
    else this.stream.send({ queue, entries: items }, deadlineAt, batchAnswer(done));
  }

  protected results(res: AckBatchResponse): AckResult[] {
    return res.results;
  }

  protected answer(item: AckItem, result: AckResult): void {
    item.answer(result);
  }
}
