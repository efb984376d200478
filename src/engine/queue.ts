/**
 * One named queue: its ready heap, its live messages by id, its consumers, its counters.
 *
 * Invariants:
 * - `live` holds every message that is ready, delayed or in flight, in enqueue order (Map
 *   insertion order), so ids are unique among live messages and the oldest ready message is
 *   the first ready one met walking `live`.
 * - `ready` holds exactly the Ready messages; `delayedCount` and `inFlightCount` count the
 *   other two states.
 * - A message is leased to at most one consumer at a time; leasing, acking, nacking and
 *   expiry are the only state changes, and each is journaled before it takes effect where
 *   the journal can refuse it.
 * - Consumers with capacity wait in a FIFO; each delivery goes to the head, which then moves
 *   to the back: competing streams are served round robin.
 */
import { CoraError, errors } from '../errors';
import { newReceipt } from '../ids';
import type { Journal } from '../storage/journal';
import { Consumer } from './consumer';
import { deliveredBefore, Message, MessageState, type Attributes, type MessageView } from './message';
import { PriorityHeap } from './priority-heap';
import type { TimerWheel, TimerEntry } from './timer-wheel';

/** A queue's configuration with every default applied. Times in ms. */
export interface QueueSettings {
  visibilityTimeoutMs: number;
  /** 0 = unlimited. */
  maxDeliveries: number;
  /** '' = none. */
  deadLetterQueue: string;
  maxDepth: number;
}

export type DeadLetterReason = 'nacked' | 'lease-expired';

/** What a queue needs from its broker. */
export interface BrokerContext {
  readonly wheel: TimerWheel<TimerEntry>;
  readonly journal: Journal;
  nextSeq(): number;
  newId(now: number): string;
  findQueue(name: string): Queue | undefined;
  deadLettered(from: Queue, to: Queue | undefined, message: Message, reason: DeadLetterReason): void;
}

export interface NewMessage {
  /** null: the broker makes one. */
  id: string | null;
  payload: Buffer;
  priority: number;
  delayMs: number;
  attributes: Attributes;
}

export interface Totals {
  enqueued: number;
  delivered: number;
  acked: number;
  nacked: number;
  expired: number;
  deadLettered: number;
}

export interface QueueStats {
  ready: number;
  delayed: number;
  inFlight: number;
  consumers: number;
  oldestReadyAgeMs: number;
  enqueuedTotal: number;
  deliveredTotal: number;
  ackedTotal: number;
  nackedTotal: number;
  expiredTotal: number;
  deadLetteredTotal: number;
}

export const DLQ_ATTRIBUTE = {
  sourceQueue: 'coramq.dead-letter.source-queue',
  reason: 'coramq.dead-letter.reason',
  deliveryCount: 'coramq.dead-letter.delivery-count',
  originalId: 'coramq.dead-letter.original-id',
} as const;

export class Queue {
  readonly ready = new PriorityHeap<Message>(deliveredBefore);
  readonly live = new Map<string, Message>();
  readonly consumers = new Set<Consumer>();
  readonly totals: Totals = { enqueued: 0, delivered: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 };
  delayedCount = 0;
  inFlightCount = 0;
  private waitingHead: Consumer | null = null;
  private waitingTail: Consumer | null = null;

  constructor(
    readonly name: string,
    readonly settings: QueueSettings,
    readonly createdAt: number,
    private readonly ctx: BrokerContext,
  ) {}

  get depth(): number {
    return this.live.size;
  }

  // ---- producing ----

  enqueue(input: NewMessage, now: number): { id: string; duplicate: boolean } {
    if (input.id !== null && this.live.has(input.id)) return { id: input.id, duplicate: true };
    if (this.live.size >= this.settings.maxDepth) {
      throw new CoraError(
        'QUEUE_FULL',
        `queue '${this.name}' is full: it holds ${this.live.size} messages, its max_depth`,
      );
    }
    const id = input.id ?? this.ctx.newId(now);
    const m = new Message(this, id, this.ctx.nextSeq(), input.priority, input.payload, input.attributes, now);
    const readyAt = now + input.delayMs;
    this.ctx.journal.enqueued(this.name, m, readyAt); // may refuse (disk full): before any change
    this.live.set(id, m);
    this.totals.enqueued++;
    this.admit(m, readyAt, now);
    return { id, duplicate: false };
  }

  /** Puts a live message in line: ready now, or delayed until `readyAt`. */
  admit(m: Message, readyAt: number, now: number): void {
    if (readyAt > now) {
      m.state = MessageState.Delayed;
      m.expiresAt = readyAt;
      this.ctx.wheel.add(m);
      this.delayedCount++;
    } else {
      m.state = MessageState.Ready;
      this.ready.push(m);
      this.dispatch(now);
    }
  }

  // ---- delivering ----

  subscribe(c: Consumer, now: number): void {
    this.consumers.add(c);
    c.owner = this;
    const expiry = c.waitExpiry(now);
    if (expiry !== null) {
      c.expiresAt = expiry;
      this.ctx.wheel.add(c);
    }
    this.offer(c, now);
  }

  unsubscribe(c: Consumer): void {
    if (!this.consumers.delete(c)) return;
    c.owner = null;
    this.unwait(c);
    this.ctx.wheel.cancel(c);
  }

  /** Call when `c` may have gained capacity (a slot freed, backpressure lifted). */
  offer(c: Consumer, now: number): void {
    if (!c.waiting && c.hasCapacity && c.owner === this) {
      this.enwait(c);
      this.dispatch(now);
    }
  }

  /** Leases ready messages to waiting consumers, round robin, while both last. */
  dispatch(now: number): void {
    while (this.ready.size > 0) {
      const c = this.waitingHead;
      if (c === null) return;
      this.unwait(c);
      if (!c.hasCapacity) continue;
      this.lease(this.ready.pop() as Message, c, now);
      if (c.hasCapacity) this.enwait(c);
    }
  }

  private lease(m: Message, c: Consumer, now: number): void {
    m.state = MessageState.InFlight;
    m.deliveryCount++;
    m.receipt = newReceipt();
    m.expiresAt = now + c.visibilityTimeoutMs;
    this.ctx.wheel.add(m);
    this.inFlightCount++;
    this.totals.delivered++;
    c.took(m);
    this.ctx.journal.delivered(this.name, m);
    if (c.idleMs !== null) {
      const expiry = c.waitExpiry(now) as number;
      if (expiry !== c.expiresAt) this.ctx.wheel.reschedule(c, expiry);
    }
    c.sink.deliver(m, c);
  }

  // ---- settling deliveries ----

  /** The message in flight under `receipt` (null: the current delivery, whichever it is). */
  private inFlight(id: string, receipt: string | null): Message {
    const m = this.live.get(id);
    if (m === undefined || m.state !== MessageState.InFlight) throw errors.notInFlight(this.name, id);
    if (receipt !== null && m.receipt !== receipt) throw errors.staleReceipt(this.name, id);
    return m;
  }

  ack(id: string, receipt: string | null, now: number): void {
    const m = this.inFlight(id, receipt);
    this.ctx.journal.removed(this.name, m);
    this.totals.acked++;
    this.forget(m);
    this.ctx.wheel.cancel(m);
    this.inFlightCount--;
    this.freeSlot(this.detach(m), now);
  }

  /** Returns whether the message ran out of deliveries and left the queue. */
  nack(id: string, receipt: string | null, delayMs: number, now: number): boolean {
    const m = this.inFlight(id, receipt);
    this.ctx.wheel.cancel(m);
    this.inFlightCount--;
    this.totals.nacked++;
    const holder = this.detach(m);
    const deadLettered = this.requeue(m, delayMs, now, 'nacked');
    this.freeSlot(holder, now);
    return deadLettered;
  }

  /** Moves the end of the current lease to `now + timeoutMs`; returns the new end. */
  extend(id: string, receipt: string | null, timeoutMs: number, now: number): number {
    const m = this.inFlight(id, receipt);
    this.ctx.wheel.reschedule(m, now + timeoutMs);
    return m.expiresAt;
  }

  /** The wheel fired for `m`: its delay is over, or its lease expired. */
  onTimer(m: Message, now: number): void {
    if (m.state === MessageState.Delayed) {
      this.delayedCount--;
      m.state = MessageState.Ready;
      this.ready.push(m);
      this.dispatch(now);
    } else if (m.state === MessageState.InFlight) {
      this.inFlightCount--;
      this.totals.expired++;
      const holder = this.detach(m);
      this.requeue(m, 0, now, 'lease-expired');
      this.freeSlot(holder, now);
    }
  }

  /**
   * Ends the current delivery's hold on `m`; returns the consumer that held it. The slot
   * is freed (freeSlot) only after the message is back in line, so a redelivered message
   * keeps its place ahead of later ones.
   */
  private detach(m: Message): Consumer | null {
    const holder = m.holder;
    m.holder = null;
    m.receipt = '';
    return holder;
  }

  private freeSlot(holder: Consumer | null, now: number): void {
    if (holder !== null) {
      holder.inFlight--;
      this.offer(holder, now);
    }
  }

  private requeue(m: Message, delayMs: number, now: number, reason: DeadLetterReason): boolean {
    const max = this.settings.maxDeliveries;
    if (max > 0 && m.deliveryCount >= max && this.deadLetter(m, reason, now)) return true;
    const readyAt = now + delayMs;
    if (reason === 'nacked') this.ctx.journal.requeued(this.name, m, readyAt);
    this.admit(m, readyAt, now);
    return false;
  }

  /**
   * Moves `m` to the dead-letter queue (or drops it when there is none). Returns false, and
   * changes nothing, when the dead-letter queue cannot take it (its storage refused): the
   * message then stays in this queue rather than being lost.
   */
  private deadLetter(m: Message, reason: DeadLetterReason, now: number): boolean {
    const dlq = this.settings.deadLetterQueue === '' ? undefined : this.ctx.findQueue(this.settings.deadLetterQueue);
    if (dlq !== undefined) {
      try {
        dlq.acceptDeadLetter(m, this.name, reason, now);
      } catch (err) {
        if (err instanceof CoraError && err.code === 'STORAGE_FULL') return false;
        throw err;
      }
    }
    this.ctx.journal.removed(this.name, m);
    this.totals.deadLettered++;
    this.forget(m);
    this.ctx.deadLettered(this, dlq, m, reason);
    return true;
  }

  private acceptDeadLetter(m: Message, from: string, reason: DeadLetterReason, now: number): void {
    const attributes: Record<string, string> = {
      ...m.attributes,
      [DLQ_ATTRIBUTE.sourceQueue]: from,
      [DLQ_ATTRIBUTE.reason]: reason,
      [DLQ_ATTRIBUTE.deliveryCount]: String(m.deliveryCount),
    };
    let id = m.id;
    if (this.live.has(id)) {
      attributes[DLQ_ATTRIBUTE.originalId] = id;
      id = this.ctx.newId(now);
    }
    const copy = new Message(this, id, this.ctx.nextSeq(), m.priority, m.payload, attributes, now);
    this.ctx.journal.enqueued(this.name, copy, now);
    this.live.set(id, copy);
    this.totals.enqueued++;
    this.admit(copy, now, now);
  }

  // ---- whole-queue operations ----

  /** Drops every ready and delayed message; returns how many. */
  purge(): number {
    let purged = 0;
    for (const m of this.live.values()) {
      if (m.state === MessageState.InFlight) continue;
      this.ctx.journal.removed(this.name, m);
      if (m.state === MessageState.Delayed) this.ctx.wheel.cancel(m);
      this.forget(m);
      purged++;
    }
    this.ready.clear();
    this.delayedCount = 0;
    return purged;
  }

  /** Ends every consumer and unschedules every message: the queue is being deleted. */
  destroy(reason: CoraError): void {
    for (const c of [...this.consumers]) {
      this.unsubscribe(c);
      c.sink.closed(reason);
    }
    for (const m of this.live.values()) {
      this.ctx.wheel.cancel(m);
      m.state = MessageState.Gone;
    }
    this.live.clear();
    this.ready.clear();
    this.delayedCount = this.inFlightCount = 0;
  }

  /** How long the oldest ready message has waited, in ms (0 when none is ready). */
  oldestReadyAge(now: number): number {
    if (this.ready.size === 0) return 0;
    for (const m of this.live.values()) {
      if (m.state === MessageState.Ready) return Math.max(0, now - m.enqueuedAt);
    }
    return 0;
  }

  /** The queue's counts and counters now, for the protocol layers to show. */
  stats(now: number): QueueStats {
    const t = this.totals;
    return {
      ready: this.ready.size,
      delayed: this.delayedCount,
      inFlight: this.inFlightCount,
      consumers: this.consumers.size,
      oldestReadyAgeMs: this.oldestReadyAge(now),
      enqueuedTotal: t.enqueued,
      deliveredTotal: t.delivered,
      ackedTotal: t.acked,
      nackedTotal: t.nacked,
      expiredTotal: t.expired,
      deadLetteredTotal: t.deadLettered,
    };
  }

  /** Up to `limit` ready messages in delivery order, unchanged. */
  peekReady(limit: number): MessageView[] {
    return this.ready.firstInOrder(limit);
  }

  /**
   * Restores a message from storage (no journaling, no dispatch: nobody is subscribed yet).
   * One that was in flight when the server stopped has lost its lease: it comes back in
   * flight with the lease already over, so the next tick expires it like any lease (back in
   * line keeping its delivery count, or to the dead-letter queue when out of deliveries).
   */
  restore(m: Message, readyAt: number, leaseLost: boolean, now: number): void {
    this.live.set(m.id, m);
    if (!leaseLost) {
      this.admit(m, readyAt, now);
      return;
    }
    m.state = MessageState.InFlight;
    m.expiresAt = now;
    this.ctx.wheel.add(m);
    this.inFlightCount++;
  }

  private forget(m: Message): void {
    this.live.delete(m.id);
    m.state = MessageState.Gone;
  }

  private enwait(c: Consumer): void {
    c.waiting = true;
    c.waitingNext = null;
    c.waitingPrev = this.waitingTail;
    if (this.waitingTail !== null) this.waitingTail.waitingNext = c;
    else this.waitingHead = c;
    this.waitingTail = c;
  }

  private unwait(c: Consumer): void {
    if (!c.waiting) return;
    c.waiting = false;
    if (c.waitingPrev !== null) c.waitingPrev.waitingNext = c.waitingNext;
    else this.waitingHead = c.waitingNext;
    if (c.waitingNext !== null) c.waitingNext.waitingPrev = c.waitingPrev;
    else this.waitingTail = c.waitingPrev;
    c.waitingPrev = c.waitingNext = null;
  }
}
