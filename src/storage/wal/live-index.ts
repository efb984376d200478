/**
 * What the WAL knows of the live state: every live queue (by name and by number) and, for
 * every live message, where its full record is, how big its tombstone will be, and the
 * fields that change over its life (so compaction can rewrite the record as it is now).
 *
 * Invariants: a message is in exactly one queue's map; `segment.liveCount/liveBytes` count
 * exactly the messages whose full record is in that segment; `liveBytes` is their sum over
 * all segments; `reserved` is the sum of the tombstones of live messages and the deletion
 * records of live queues; `snapshotBytes` the sum of live queues' records. Queue numbers are
 * never reused (`nextQueueNum` is above every number that any record on disk mentions).
 */
import type { QueueSettings } from '../../engine/queue';
import { QUEUE_DELETED_SIZE, queueRecordSize, type EnqueuedRecord } from './record-codec';
import type { Segment } from './segment';

export class LiveMessage {
  /** During replay only: the record to restore from. */
  record: EnqueuedRecord | null = null;

  constructor(
    public segment: Segment,
    public position: number,
    /** Bytes of its full record. */
    public size: number,
    /** Bytes of its tombstone (reserved while it lives). */
    readonly tomb: number,
    public deliveryCount: number,
    public readyAt: number,
    public inFlight: boolean,
  ) {}
}

export class WalQueue {
  readonly messages = new Map<string, LiveMessage>();
  /** Bytes of its Queue record. */
  readonly recordSize: number;

  constructor(
    readonly num: number,
    readonly name: string,
    readonly settings: QueueSettings,
    readonly createdAt: number,
  ) {
    this.recordSize = queueRecordSize(name, settings.deadLetterQueue);
  }
}

export class LiveIndex {
  readonly byName = new Map<string, WalQueue>();
  readonly byNum = new Map<number, WalQueue>();
  liveBytes = 0;
  reserved = 0;
  snapshotBytes = 0;
  nextQueueNum = 1;

  addQueue(q: WalQueue): void {
    this.byName.set(q.name, q);
    this.byNum.set(q.num, q);
    this.reserved += QUEUE_DELETED_SIZE;
    this.snapshotBytes += q.recordSize;
    if (q.num >= this.nextQueueNum) this.nextQueueNum = q.num + 1;
  }

  /** Forgets the queue and every message in it. */
  removeQueue(q: WalQueue): void {
    for (const m of q.messages.values()) this.unaccount(m);
    q.messages.clear();
    this.byName.delete(q.name);
    this.byNum.delete(q.num);
    this.reserved -= QUEUE_DELETED_SIZE;
    this.snapshotBytes -= q.recordSize;
  }

  /** Adds (or, for a live id, replaces) a message. */
  addMessage(q: WalQueue, id: string, m: LiveMessage): void {
    const old = q.messages.get(id);
    if (old !== undefined) this.unaccount(old);
    q.messages.set(id, m);
    m.segment.liveCount++;
    m.segment.liveBytes += m.size;
    this.liveBytes += m.size;
    this.reserved += m.tomb;
  }

  removeMessage(q: WalQueue, id: string, m: LiveMessage): void {
    q.messages.delete(id);
    this.unaccount(m);
  }

  /** The message's full record now lives at `position` in `segment` (compaction moved it). */
  move(m: LiveMessage, segment: Segment, position: number): void {
    m.segment.liveCount--;
    m.segment.liveBytes -= m.size;
    m.segment = segment;
    m.position = position;
    segment.liveCount++;
    segment.liveBytes += m.size;
  }

  private unaccount(m: LiveMessage): void {
    m.segment.liveCount--;
    m.segment.liveBytes -= m.size;
    this.liveBytes -= m.size;
    this.reserved -= m.tomb;
  }
}
