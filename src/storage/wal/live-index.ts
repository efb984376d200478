/**
 * What the WAL knows of the live state: every live queue (by name and by number) and, for
 * every live message, where its full record is, how big its tombstone will be, and the
 * fields that change over its life (so compaction can rewrite the record as it is now).
 * The engine's message holds its LiveMessage (JournaledMessage.journalRef), so journal
 * calls find it without a lookup; replay keeps its own map by id while it runs.
 *
 * Invariants: a live message is in its queue's list and in the list of the segment that
 * holds its full record (in the order of their positions); `segment.liveCount/liveBytes`
 * and `queue.count` count those lists; `liveBytes` is the sum over all segments; `reserved`
 * is the sum of the tombstones of live messages and the deletion records of live queues;
 * `snapshotBytes` the sum of live queues' records. A message that is gone has position -1.
 * Queue numbers are never reused (`nextQueueNum` is above every number that any record on
 * disk mentions).
 */
import type { QueueSettings } from '../../engine/queue';
import { QUEUE_DELETED_SIZE, queueRecordSize, REMOVED_SIZE, type EnqueuedRecord } from './record-codec';
import type { Segment } from './segment';

export class LiveMessage {
  /** During replay only: the record to restore from. */
  record: EnqueuedRecord | null = null;
  // Neighbours in its segment's list and in its queue's list.
  prev: LiveMessage | null = null;
  next: LiveMessage | null = null;
  queuePrev: LiveMessage | null = null;
  queueNext: LiveMessage | null = null;

  constructor(
    readonly queue: WalQueue,
    public segment: Segment,
    public position: number,
    /** Bytes of its full record. */
    readonly size: number,
    public deliveryCount: number,
    public readyAt: number,
    public inFlight: boolean,
  ) {}

  get live(): boolean {
    return this.position >= 0;
  }
}

export class WalQueue {
  first: LiveMessage | null = null;
  last: LiveMessage | null = null;
  count = 0;
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
    for (let m = q.first; m !== null; ) {
      const next = m.queueNext;
      this.removeMessage(m);
      m = next;
    }
    this.byName.delete(q.name);
    this.byNum.delete(q.num);
    this.reserved -= QUEUE_DELETED_SIZE;
    this.snapshotBytes -= q.recordSize;
  }

  addMessage(m: LiveMessage): void {
    const q = m.queue;
    m.queueNext = null;
    m.queuePrev = q.last;
    if (q.last !== null) q.last.queueNext = m;
    else q.first = m;
    q.last = m;
    q.count++;
    link(m.segment, m);
    this.liveBytes += m.size;
    this.reserved += REMOVED_SIZE;
  }

  removeMessage(m: LiveMessage): void {
    const q = m.queue;
    if (m.queuePrev !== null) m.queuePrev.queueNext = m.queueNext;
    else q.first = m.queueNext;
    if (m.queueNext !== null) m.queueNext.queuePrev = m.queuePrev;
    else q.last = m.queuePrev;
    m.queuePrev = m.queueNext = null;
    q.count--;
    unlink(m.segment, m);
    m.position = -1;
    this.liveBytes -= m.size;
    this.reserved -= REMOVED_SIZE;
  }

  /** The message's full record now lives at `position` in `segment` (compaction moved it). */
  move(m: LiveMessage, segment: Segment, position: number): void {
    unlink(m.segment, m);
    m.segment = segment;
    m.position = position;
    link(segment, m);
  }
}

function link(seg: Segment, m: LiveMessage): void {
  m.next = null;
  m.prev = seg.lastLive;
  if (seg.lastLive !== null) seg.lastLive.next = m;
  else seg.firstLive = m;
  seg.lastLive = m;
  seg.liveCount++;
  seg.liveBytes += m.size;
}

function unlink(seg: Segment, m: LiveMessage): void {
  if (m.prev !== null) m.prev.next = m.next;
  else seg.firstLive = m.next;
  if (m.next !== null) m.next.prev = m.prev;
  else seg.lastLive = m.prev;
  m.prev = m.next = null;
  seg.liveCount--;
  seg.liveBytes -= m.size;
}
