/**
 * Acks, coalesced: acks made close together go out as one AckBatch (or AckStream request),
 * whatever their queues (batch-call.ts); each gets its own outcome (MessageNotFoundError,
 * InvalidReceiptError).
 * Acks are not retried after UNAVAILABLE: the batch may have been applied, and a message whose
 * ack was lost is delivered again (at-least-once).
 *
 * One ack is one object while it is under way: the AckItem is the batch entry, its message's
 * record of being acked (received-message.ts), and the holder of ack()'s promise and its
 * resolvers; its outcome goes to a callback shared by every ack of its kind, not a closure per
 * ack. The item does not hold its message (only the worker's do, to report a failure with it):
 * with many subscriptions thousands of acks wait for their answers (bench/README.md, eleventh
 * session), and a message its caller let go, with its payload view, is garbage meanwhile.
 */
import type { AckBatchResponse, AckResult } from '../../generated/coramq/v1/queue';
import { batchAnswer, BatchCall, BatchItem } from './batch-call';
import type { RawAckEntry } from './batch-encoders';
import { utf8Text } from '../../src/wire/proto-reader';
import { EMPTY } from './dequeue-decoder';
import type { Done } from './connection';
import { Pipeline } from './pipeline';
import { toError, type CoraMQError } from './errors';
import type { ReceivedMessage } from './received-message';

const noop = (): void => {};

/** Told an ack's outcome: null, or the error (the message is `item.message` for the worker's acks). Called once. */
export type AckDone = (err: CoraMQError | null, item: AckItem) => void;

/**
 * One ack of one message: the batch entry, with where its outcome goes. Its id and receipt
 * stay the bytes the delivery brought (RawAckEntry): thousands of acks may wait for their
 * answers, and two strings each would be that many more objects for the collector to copy.
 */
export class AckItem extends BatchItem implements RawAckEntry {
  keyBytes: Buffer = EMPTY;
  idAt = 0;
  idEnd = 0;
  receiptAt = 0;
  receiptEnd = 0;
  /** The promise ack() returned, which `resolve` and `reject` settle; null for acks without one (the worker's). */
  promise: Promise<void> | null = null;
  resolve: () => void = noop;
  reject: (err: CoraMQError) => void = noop;
  /** Why it failed: the message is not acked by it (null while under way, and once acked). */
  error: CoraMQError | null = null;

  constructor(
    queue: string,
    /** The message acked, kept only for acks that report a failure with it (the worker's); else null. */
    readonly message: ReceivedMessage | null,
    deadlineAt: number,
    private readonly done: AckDone,
  ) {
    super(queue, deadlineAt);
  }

  get id(): string {
    return utf8Text(this.keyBytes, this.idAt, this.idEnd);
  }

  get receipt(): string {
    return utf8Text(this.keyBytes, this.receiptAt, this.receiptEnd);
  }

  protected failed(err: CoraMQError): void {
    this.error = err;
    this.done(err, this);
  }

  answer(r: AckResult): void {
    if (r.error !== undefined) this.fail(toError(r.error.code, r.error.reason, r.error.message));
    else if (this.settle()) this.done(null, this);
  }
}

/** An AckDone for acks with a promise: settles it. */
export const settlePromise: AckDone = (err, item) => (err === null ? item.resolve() : item.reject(err));

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
