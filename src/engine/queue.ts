/**
 * One named queue: its ready heap, its live messages (slots of the broker's MessageTable),
 * its client-chosen ids, its consumers, its counters.
 *
 * Invariants:
 * - Every slot with `queueId === this.id` is on this queue's live list (the order messages
 *   entered it); `liveCount` counts them. Ids are unique among them: a server id names its
 *   own slot and sequence number; a client id is in `clientIds`.
 * - The heap holds exactly the Ready slots; `delayedCount` and `inFlightCount` count the
 *   other two states; Delayed and InFlight slots are in the timer wheel.
 * - A message is leased to at most one consumer at a time; leasing, acking, nacking and
 *   expiry are the only state changes, and each is journaled before it takes effect where
 *   the journal can refuse it.
 * - Consumers with capacity wait in a FIFO; each delivery goes to the head, which then moves
 *   to the back: competing streams are served round robin.
 * - The live list is in sequence-number order: a message joins it at the end with a new
 *   number (enqueue, dead-letter), and storage restores messages in enqueue order.
 * - No live message before `readyScan` in the live list is Ready (HEAD: nothing known; END:
 *   none is), so the oldest ready message is found from there, not from the head: a queue
 *   whose front holds a million delayed or in-flight messages answers its stats in O(1)
 *   amortized, not O(n) each time.
 */
import { CoraError, errors } from '../errors';
import { issueReceipt, parseServerId } from '../ids';
import type { Journal } from '../storage/journal';
import type { Consumer } from './consumer';
import { NO_ATTRIBUTES, type Attributes, type MessageView, type SlotView } from './message';
import { SlotState, type MessageTable } from './message-table';
import type { PayloadStore } from './payload-store';
import { SlotHeap } from './slot-heap';
import type { TimerWheel } from './timer-wheel';

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
  readonly table: MessageTable;
  readonly payloads: PayloadStore;
  readonly wheel: TimerWheel;
  readonly journal: Journal;
  /** Cursors for journal records and for deliveries. */
  readonly journalView: SlotView;
  readonly deliveryView: SlotView;
  nextSeq(): number;
  idOf(slot: number): string;
  findQueue(name: string): Queue | undefined;
  /** (Re)arms or clears a consumer's wait timer. */
  setWait(c: Consumer, at: number | null): void;
  deadLettered(from: Queue, to: Queue | undefined, id: string, reason: DeadLetterReason, deliveryCount: number): void;
}

export interface NewMessage {
  /** null: the broker makes one. */
  id: string | null;
  payload: Uint8Array;
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

/** A live message as `Queue.messages()` shows it. */
export interface MessageSnapshot extends MessageView {
  state: 'ready' | 'delayed' | 'in-flight';
  /** When a delayed message becomes ready, or an in-flight lease ends; null when ready. */
  dueAt: number | null;
  /** The current delivery's receipt, or null. */
  receipt: string | null;
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

const NONE = -1;
/** `readyScan` values that are not slots: scan from the head; no live message is Ready. */
const HEAD = -1;
const END = -2;

export class Queue {
  readonly heap: SlotHeap;
  readonly clientIds = new Map<string, number>();
  readonly consumers = new Set<Consumer>();
  readonly totals: Totals = { enqueued: 0, delivered: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 };
  delayedCount = 0;
  inFlightCount = 0;
  private liveCount = 0;
  private liveHead = NONE;
  private liveTail = NONE;
  private readyScan = HEAD;
  private waitingHead: Consumer | null = null;
  private waitingTail: Consumer | null = null;

  constructor(
    /** The broker's number for this queue (the table's `queueId`). */
    readonly id: number,
    readonly name: string,
    readonly settings: QueueSettings,
    readonly createdAt: number,
    private readonly ctx: BrokerContext,
  ) {
    this.heap = new SlotHeap(ctx.table);
  }

  get depth(): number {
    return this.liveCount;
  }

  get readyCount(): number {
    return this.heap.size;
  }

  /**
   * The slot of live message `id` in this queue, or -1. A server id names its slot, sequence
   * number and creation time; any other id is a client's, in `clientIds`. (A client id that
   * equals a live server id is that message's id, so trying the server form first is exact.)
   */
  find(id: string): number {
    const named = parseServerId(id);
    if (named !== null) {
      const t = this.ctx.table;
      const s = named.slot;
      if (s < t.capacity && t.state[s] !== SlotState.Free && t.queueId[s] === this.id && t.seq[s] === named.seq && t.enqueuedAt[s] === named.time && t.extras.get(s)?.clientId === undefined) {
        return s;
      }
    }
    return this.clientIds.get(id) ?? NONE;
  }

  /**
   * Every live message as a snapshot, in the order they entered the queue: for inspection
   * and tests (it copies; not for hot paths).
   */
  messages(): MessageSnapshot[] {
    const out: MessageSnapshot[] = [];
    for (let s = this.liveHead; s !== NONE; s = this.ctx.table.liveNext[s]) out.push(this.snapshot(s));
    return out;
  }

  /** The live message `id` as a snapshot, or undefined. */
  message(id: string): MessageSnapshot | undefined {
    const slot = this.find(id);
    return slot === NONE ? undefined : this.snapshot(slot);
  }

  private snapshot(slot: number): MessageSnapshot {
    const t = this.ctx.table;
    const state = t.state[slot] === SlotState.Ready ? 'ready' : t.state[slot] === SlotState.Delayed ? 'delayed' : 'in-flight';
    return {
      ...this.ctx.journalView.at(slot).snapshot(),
      state,
      dueAt: state === 'ready' ? null : this.ctx.wheel.expiryOf(slot),
      receipt: t.receiptOf(slot),
    };
  }

  // ---- producing ----

  enqueue(input: NewMessage, now: number): { id: string; duplicate: boolean } {
    if (input.id !== null && this.find(input.id) !== NONE) return { id: input.id, duplicate: true };
    if (this.liveCount >= this.settings.maxDepth) {
      throw new CoraError('QUEUE_FULL', `queue '${this.name}' is full: it holds ${this.liveCount} messages, its max_depth`);
    }
    const { table: t, payloads } = this.ctx;
    const slot = t.alloc();
    const seq = this.ctx.nextSeq();
    t.seq[slot] = seq;
    t.enqueuedAt[slot] = now;
    t.priority[slot] = input.priority;
    t.deliveryCount[slot] = 0;
    t.queueId[slot] = this.id;
    if (input.id !== null || input.attributes !== NO_ATTRIBUTES) {
      t.extras.set(slot, {
        clientId: input.id ?? undefined,
        attributes: input.attributes === NO_ATTRIBUTES ? undefined : input.attributes,
      });
    }
    payloads.put(slot, input.payload);
    const readyAt = now + input.delayMs;
    const view = this.ctx.journalView.at(slot);
    try {
      this.ctx.journal.enqueued(this.name, view, readyAt); // may refuse (disk full): undo, change nothing
    } catch (err) {
      payloads.drop(slot);
      t.release(slot);
      throw err;
    }
    const id = view.id;
    this.link(slot, input.id ?? undefined);
    this.totals.enqueued++;
    this.admit(slot, readyAt, now);
    return { id, duplicate: false };
  }

  /** Puts a live message in line: ready now, or delayed until `readyAt`. */
  private admit(slot: number, readyAt: number, now: number): void {
    if (readyAt > now) {
      this.ctx.table.state[slot] = SlotState.Delayed;
      this.ctx.wheel.add(slot, readyAt);
      this.delayedCount++;
    } else {
      this.ready(slot);
      this.dispatch(now);
    }
  }

  /** Puts `slot` in the ready heap (keeping `readyScan` before it). */
  private ready(slot: number): void {
    const t = this.ctx.table;
    t.state[slot] = SlotState.Ready;
    this.heap.push(slot);
    const scan = this.readyScan;
    if (scan === END || (scan !== HEAD && t.seq[slot] < t.seq[scan])) this.readyScan = slot;
  }

  // ---- delivering ----

  subscribe(c: Consumer, now: number): void {
    this.consumers.add(c);
    c.owner = this;
    this.ctx.setWait(c, c.waitExpiry(now));
    this.offer(c, now);
  }

  unsubscribe(c: Consumer): void {
    if (!this.consumers.delete(c)) return;
    c.owner = null;
    this.unwait(c);
    this.ctx.setWait(c, null);
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
    while (this.heap.size > 0) {
      const c = this.waitingHead;
      if (c === null) return;
      this.unwait(c);
      if (!c.hasCapacity) continue;
      this.lease(this.heap.pop(), c, now);
      if (c.hasCapacity) this.enwait(c);
    }
  }

  private lease(slot: number, c: Consumer, now: number): void {
    const t = this.ctx.table;
    t.state[slot] = SlotState.InFlight;
    ++t.deliveryCount[slot];
    issueReceipt(t.receipts, slot);
    t.holder.set(slot, c);
    this.ctx.wheel.add(slot, now + c.visibilityTimeoutMs);
    this.inFlightCount++;
    this.totals.delivered++;
    c.inFlight++;
    c.remaining--;
    const view = this.ctx.deliveryView.at(slot);
    this.ctx.journal.delivered(this.name, view);
    if (c.idleMs !== null) this.ctx.setWait(c, c.waitExpiry(now));
    c.sink.deliver(view, c);
  }

  // ---- settling deliveries ----

  /** The slot in flight under `receipt` (null: the current delivery, whichever it is). */
  private inFlight(id: string, receipt: string | null): number {
    const slot = this.find(id);
    const t = this.ctx.table;
    if (slot === NONE || t.state[slot] !== SlotState.InFlight) throw errors.notInFlight(this.name, id);
    if (receipt !== null && !t.receiptIs(slot, receipt)) throw errors.staleReceipt(this.name, id);
    return slot;
  }

  ack(id: string, receipt: string | null, now: number): void {
    const slot = this.inFlight(id, receipt);
    this.ctx.journal.removed(this.name, this.ctx.journalView.at(slot));
    this.totals.acked++;
    this.ctx.wheel.cancel(slot);
    this.inFlightCount--;
    const holder = this.detach(slot);
    this.forget(slot);
    this.freeSlot(holder, now);
  }

  /** Returns whether the message ran out of deliveries and left the queue. */
  nack(id: string, receipt: string | null, delayMs: number, now: number): boolean {
    const slot = this.inFlight(id, receipt);
    this.ctx.wheel.cancel(slot);
    this.inFlightCount--;
    this.totals.nacked++;
    const holder = this.detach(slot);
    const deadLettered = this.requeue(slot, delayMs, now, 'nacked');
    this.freeSlot(holder, now);
    return deadLettered;
  }

  /** Moves the end of the current lease to `now + timeoutMs`; returns the new end. */
  extend(id: string, receipt: string | null, timeoutMs: number, now: number): number {
    const slot = this.inFlight(id, receipt);
    this.ctx.wheel.reschedule(slot, now + timeoutMs);
    return this.ctx.wheel.expiryOf(slot);
  }

  /** The wheel fired for `slot`: its delay is over, or its lease expired. */
  onTimer(slot: number, now: number): void {
    const t = this.ctx.table;
    if (t.state[slot] === SlotState.Delayed) {
      this.delayedCount--;
      this.ready(slot);
      this.dispatch(now);
    } else if (t.state[slot] === SlotState.InFlight) {
      this.inFlightCount--;
      this.totals.expired++;
      const holder = this.detach(slot);
      this.requeue(slot, 0, now, 'lease-expired');
      this.freeSlot(holder, now);
    }
  }

  /**
   * Ends the current delivery's hold on `slot`; returns the consumer that held it. The
   * consumer's slot is freed (freeSlot) only after the message is back in line, so a
   * redelivered message keeps its place ahead of later ones.
   */
  private detach(slot: number): Consumer | undefined {
    const t = this.ctx.table;
    const holder = t.holder.get(slot);
    t.holder.clear(slot);
    return holder;
  }

  private freeSlot(holder: Consumer | undefined, now: number): void {
    if (holder !== undefined) {
      holder.inFlight--;
      this.offer(holder, now);
    }
  }

  private requeue(slot: number, delayMs: number, now: number, reason: DeadLetterReason): boolean {
    const max = this.settings.maxDeliveries;
    if (max > 0 && this.ctx.table.deliveryCount[slot] >= max && this.deadLetter(slot, reason, now)) return true;
    const readyAt = now + delayMs;
    if (reason === 'nacked') this.ctx.journal.requeued(this.name, this.ctx.journalView.at(slot), readyAt);
    this.admit(slot, readyAt, now);
    return false;
  }

  /**
   * Moves the message to the dead-letter queue (or drops it when there is none). Returns
   * false, and changes nothing, when the dead-letter queue's storage refuses it: the message
   * then stays in this queue rather than being lost.
   */
  deadLetter(slot: number, reason: DeadLetterReason, now: number): boolean {
    const dlq = this.settings.deadLetterQueue === '' ? undefined : this.ctx.findQueue(this.settings.deadLetterQueue);
    const id = this.ctx.idOf(slot);
    const count = this.ctx.table.deliveryCount[slot];
    if (dlq !== undefined) {
      try {
        dlq.acceptDeadLetter(slot, this, id, reason, now);
      } catch (err) {
        if (err instanceof CoraError && err.code === 'STORAGE_FULL') return false;
        throw err;
      }
    } else {
      this.ctx.journal.removed(this.name, this.ctx.journalView.at(slot));
      this.forget(slot);
    }
    this.totals.deadLettered++;
    this.ctx.deadLettered(this, dlq, id, reason, count);
    return true;
  }

  /**
   * Takes over `slot` from `from` as a dead letter: the same payload and priority, a new
   * sequence number and enqueue time here (it joins the end of the line), its id kept
   * (unless taken here: then a new one, the old in an attribute), its delivery count reset,
   * attributes saying where it came from and why. Journaled here first, then removed there,
   * so a crash in between duplicates rather than loses it.
   */
  private acceptDeadLetter(slot: number, from: Queue, oldId: string, reason: DeadLetterReason, now: number): void {
    const t = this.ctx.table;
    const old = { seq: t.seq[slot], enqueuedAt: t.enqueuedAt[slot], extras: t.extras.get(slot), count: t.deliveryCount[slot], ref: t.journalRef(slot) };
    const attributes: Record<string, string> = {
      ...old.extras?.attributes,
      [DLQ_ATTRIBUTE.sourceQueue]: from.name,
      [DLQ_ATTRIBUTE.reason]: reason,
      [DLQ_ATTRIBUTE.deliveryCount]: String(old.count),
    };
    let clientId: string | undefined = oldId; // kept as given: the new seq no longer names it
    if (this.find(oldId) !== NONE) {
      attributes[DLQ_ATTRIBUTE.originalId] = oldId;
      clientId = undefined; // the message takes the server id of its new seq and slot
    }
    const seq = this.ctx.nextSeq();
    t.seq[slot] = seq;
    t.enqueuedAt[slot] = now;
    t.extras.set(slot, { clientId, attributes });
    t.deliveryCount[slot] = 0;
    t.queueId[slot] = this.id;
    t.setJournalRef(slot, undefined);
    try {
      this.ctx.journal.enqueued(this.name, this.ctx.journalView.at(slot), now);
    } catch (err) {
      t.seq[slot] = old.seq;
      t.enqueuedAt[slot] = old.enqueuedAt;
      t.extras.set(slot, old.extras);
      t.deliveryCount[slot] = old.count;
      t.queueId[slot] = from.id;
      t.setJournalRef(slot, old.ref);
      throw err;
    }
    // The source's tombstone names the message as it was there.
    const payload = this.ctx.payloads.view(slot);
    const priority = t.priority[slot];
    this.ctx.journal.removed(from.name, {
      id: oldId,
      seq: old.seq,
      priority,
      payload,
      attributes: old.extras?.attributes ?? NO_ATTRIBUTES,
      enqueuedAt: old.enqueuedAt,
      deliveryCount: old.count,
      journalRef: old.ref,
    });
    from.unlink(slot, old.extras?.clientId);
    this.link(slot, clientId);
    this.totals.enqueued++;
    this.admit(slot, now, now);
  }

  // ---- whole-queue operations ----

  /** Drops every ready and delayed message; returns how many. */
  purge(): number {
    const t = this.ctx.table;
    let purged = 0;
    this.heap.clear();
    for (let s = this.liveHead; s !== NONE; ) {
      const next = t.liveNext[s];
      if (t.state[s] !== SlotState.InFlight) {
        this.ctx.journal.removed(this.name, this.ctx.journalView.at(s));
        this.ctx.wheel.cancel(s);
        this.forget(s);
        purged++;
      }
      s = next;
    }
    this.delayedCount = 0;
    return purged;
  }

  /** Ends every consumer and frees every message: the queue is being deleted. */
  destroy(reason: CoraError): void {
    for (const c of [...this.consumers]) {
      this.unsubscribe(c);
      c.sink.closed(reason);
    }
    const t = this.ctx.table;
    this.heap.clear();
    for (let s = this.liveHead; s !== NONE; ) {
      const next = t.liveNext[s];
      this.ctx.wheel.cancel(s);
      this.forget(s);
      s = next;
    }
    this.delayedCount = this.inFlightCount = 0;
  }

  /** How long the oldest ready message has waited, in ms (0 when none is ready). */
  oldestReadyAge(now: number): number {
    if (this.heap.size === 0) return 0;
    const t = this.ctx.table;
    const scan = this.readyScan;
    let s = scan === HEAD ? this.liveHead : scan === END ? NONE : scan;
    while (s !== NONE && t.state[s] !== SlotState.Ready) s = t.liveNext[s];
    this.readyScan = s === NONE ? END : s;
    return s === NONE ? 0 : Math.max(0, now - t.enqueuedAt[s]);
  }

  /** Up to `limit` ready messages in delivery order, unchanged (copies). */
  peekReady(limit: number): MessageView[] {
    return this.heap.firstInOrder(limit).map((s) => this.ctx.journalView.at(s).snapshot());
  }

  /**
   * Restores a message from storage into `slot` (columns and payload already set). One that
   * was in flight when the server stopped has lost its lease: it comes back in flight with
   * the lease already over, so the next tick expires it like any lease (back in line keeping
   * its delivery count, or to the dead-letter queue when out of deliveries).
   */
  restore(slot: number, clientId: string | undefined, readyAt: number, leaseLost: boolean, now: number): void {
    this.link(slot, clientId);
    if (!leaseLost) {
      this.admit(slot, readyAt, now);
      return;
    }
    this.ctx.table.state[slot] = SlotState.InFlight;
    this.ctx.wheel.add(slot, now);
    this.inFlightCount++;
  }

  /** The queue's counts and counters now, for the protocol layers to show. */
  stats(now: number): QueueStats {
    const t = this.totals;
    return {
      ready: this.heap.size,
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

  /** Puts `slot` on the live list (and its client id in the index). */
  private link(slot: number, clientId: string | undefined): void {
    const t = this.ctx.table;
    t.livePrev[slot] = this.liveTail;
    t.liveNext[slot] = NONE;
    if (this.liveTail !== NONE) t.liveNext[this.liveTail] = slot;
    else this.liveHead = slot;
    this.liveTail = slot;
    this.liveCount++;
    if (clientId !== undefined) this.clientIds.set(clientId, slot);
  }

  /** Takes `slot` off the live list (and `clientId`, its client id here, off the index). */
  private unlink(slot: number, clientId = this.ctx.table.extras.get(slot)?.clientId): void {
    const t = this.ctx.table;
    const prev = t.livePrev[slot];
    const next = t.liveNext[slot];
    if (prev !== NONE) t.liveNext[prev] = next;
    else this.liveHead = next;
    if (next !== NONE) t.livePrev[next] = prev;
    else this.liveTail = prev;
    if (slot === this.readyScan) this.readyScan = next === NONE ? END : next;
    this.liveCount--;
    if (clientId !== undefined) this.clientIds.delete(clientId);
  }

  /** The message is gone: off the list, its payload and slot freed. */
  private forget(slot: number): void {
    this.unlink(slot);
    this.ctx.payloads.drop(slot);
    this.ctx.table.release(slot);
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
