/**
 * Every live message of the broker, one slot each, as columns (struct of arrays): typed
 * arrays for numbers (a delivery's receipt too: 128 bits in four words), sparse columns only
 * for what is usually absent (client ids, attributes), only present in flight (the lease's
 * holder, a consumer that exists anyway) or only kept by some storages (the journal's
 * handle). A queued message is a slot number, and a delivered one makes no JS object that
 * lives as long as its lease: a million queued messages, or thousands in flight, cost the
 * garbage collector nothing.
 *
 * Invariants: a slot is Free or belongs to exactly one queue (`queueId`) in one state;
 * free slots are on a stack (each knows its place in it, so a given slot can be claimed in
 * O(1)) and reused last-freed-first, which keeps slot numbers (and so the columns' touched
 * memory) as small as the live count allows. The table grows when no slot is free, by
 * doubling up to `growStep` slots and by `growStep` slots at a time after that; its typed
 * columns grow in place (columns.ts: nothing copied, nothing left for the garbage collector)
 * and its sparse columns not at all, so a growth costs O(growStep) whatever the table's
 * size. Listeners (the timer wheel, the payload store) grow with it. A growth replaces the
 * typed columns' views: read them from the table, never keep one across an alloc or claim.
 */
import type { Attributes } from './message';
import type { Consumer } from './consumer';
import { SparseColumn, growColumn, newColumn } from './columns';
import { RECEIPT_WORDS, receiptMatches, receiptText } from '../ids';

export const enum SlotState {
  Free = 0,
  Ready = 1,
  Delayed = 2,
  InFlight = 3,
}

/** Per-message data that most messages do not have. */
export interface Extras {
  /** The id a client chose (absent: the id is the server id encoding seq and slot). */
  clientId?: string;
  attributes?: Attributes;
}

const NONE = -1;

export interface MessageTableOptions {
  /** Slots at first. */
  initialCapacity: number;
  /** The most slots one growth adds (below it, the table doubles). */
  growStep: number;
  /**
   * Slots each typed column grows in place to before it is copied into a larger one
   * (columns.ts; rounded up to 64 KiB). By default as far as a column's memory goes: 4 GiB.
   * Tests make it small to cover the copy.
   */
  reserve: number;
}

export const DEFAULT_TABLE_OPTIONS: MessageTableOptions = {
  initialCapacity: 1024,
  growStep: 1 << 16,
  reserve: Infinity,
};

export class MessageTable {
  capacity: number;
  seq: Float64Array;
  enqueuedAt: Float64Array;
  priority: Int32Array;
  deliveryCount: Int32Array;
  state: Uint8Array;
  queueId: Int32Array;
  heapIndex: Int32Array;
  /** Per-queue list of live slots in the order they entered the queue. */
  liveNext: Int32Array;
  livePrev: Int32Array;
  /**
   * The current delivery's receipt, RECEIPT_WORDS words per slot (ids.ts: issueReceipt).
   * Meaningful only while the slot has a `holder`: read it through receiptOf / receiptIs.
   */
  receipts: Int32Array;
  readonly extras = new SparseColumn<Extras>();
  /** The consumer a message is leased to: set exactly while its delivery holds a lease. */
  readonly holder = new SparseColumn<Consumer>();
  /**
   * Storage's own handle for each message (see JournaledMessage); opaque to the engine. Read
   * and write it through `journalRef()` / `setJournalRef()` (in-memory storage never sets one,
   * so its chunks are never made).
   */
  private readonly refs = new SparseColumn<unknown>();
  /** The stack of free slots, and each free slot's position in it (for claim). */
  private free: Int32Array;
  private freePos: Int32Array;
  private freeTop = 0;
  private used = 0;
  private readonly growStep: number;
  private readonly listeners: ((capacity: number) => void)[] = [];

  constructor(options: Partial<MessageTableOptions> = {}) {
    const { initialCapacity: capacity, growStep, reserve } = { ...DEFAULT_TABLE_OPTIONS, ...options };
    this.capacity = capacity;
    this.growStep = growStep;
    this.seq = newColumn(Float64Array, capacity, reserve);
    this.enqueuedAt = newColumn(Float64Array, capacity, reserve);
    this.priority = newColumn(Int32Array, capacity, reserve);
    this.deliveryCount = newColumn(Int32Array, capacity, reserve);
    this.state = newColumn(Uint8Array, capacity, reserve);
    this.queueId = newColumn(Int32Array, capacity, reserve);
    this.heapIndex = newColumn(Int32Array, capacity, reserve).fill(NONE);
    this.liveNext = newColumn(Int32Array, capacity, reserve);
    this.livePrev = newColumn(Int32Array, capacity, reserve);
    this.receipts = newColumn(Int32Array, capacity * RECEIPT_WORDS, reserve * RECEIPT_WORDS);
    this.free = newColumn(Int32Array, capacity, reserve);
    this.freePos = newColumn(Int32Array, capacity, reserve);
    for (let s = capacity - 1; s >= 0; s--) this.pushFree(s);
  }

  /** Live slots. */
  get size(): number {
    return this.used;
  }

  onGrow(listener: (capacity: number) => void): void {
    this.listeners.push(listener);
    listener(this.capacity);
  }

  alloc(): number {
    if (this.freeTop === 0) this.grow(this.capacity + Math.max(1, Math.min(this.capacity, this.growStep)));
    const slot = this.free[--this.freeTop];
    this.freePos[slot] = NONE;
    this.used++;
    return slot;
  }

  /** The text of the receipt of `slot`'s current delivery; null when it holds no lease. */
  receiptOf(slot: number): string | null {
    return this.holder.get(slot) === undefined ? null : receiptText(this.receipts, slot);
  }

  /** Whether `text` is the receipt of `slot`'s current delivery (never, when it holds no lease). */
  receiptIs(slot: number, text: string): boolean {
    return this.holder.get(slot) !== undefined && receiptMatches(this.receipts, slot, text);
  }

  journalRef(slot: number): unknown {
    return this.refs.get(slot);
  }

  setJournalRef(slot: number, ref: unknown): void {
    this.refs.set(slot, ref);
  }

  release(slot: number): void {
    this.state[slot] = SlotState.Free;
    this.heapIndex[slot] = NONE;
    this.extras.clear(slot);
    this.holder.clear(slot);
    this.refs.clear(slot);
    this.pushFree(slot);
    this.used--;
  }

  /**
   * Takes a given slot if it is free (restoring a message under the slot its id names);
   * returns whether it was. O(1), plus a growth to cover `slot` when it is past the end.
   */
  claim(slot: number): boolean {
    if (slot >= this.capacity) this.grow(Math.max(slot + 1, this.capacity + Math.min(this.capacity, this.growStep)));
    const at = this.freePos[slot];
    if (at === NONE) return false;
    const last = this.free[--this.freeTop];
    this.free[at] = last;
    this.freePos[last] = at;
    this.freePos[slot] = NONE;
    this.used++;
    return true;
  }

  private pushFree(slot: number): void {
    this.freePos[slot] = this.freeTop;
    this.free[this.freeTop++] = slot;
  }

  /** Makes slots [capacity, to) free. O(to - capacity): nothing existing is copied. */
  private grow(to: number): void {
    const old = this.capacity;
    this.seq = growColumn(this.seq, to);
    this.enqueuedAt = growColumn(this.enqueuedAt, to);
    this.priority = growColumn(this.priority, to);
    this.deliveryCount = growColumn(this.deliveryCount, to);
    this.state = growColumn(this.state, to);
    this.queueId = growColumn(this.queueId, to);
    this.heapIndex = growColumn(this.heapIndex, to).fill(NONE, old);
    this.liveNext = growColumn(this.liveNext, to);
    this.livePrev = growColumn(this.livePrev, to);
    this.receipts = growColumn(this.receipts, to * RECEIPT_WORDS);
    this.free = growColumn(this.free, to);
    this.freePos = growColumn(this.freePos, to);
    this.capacity = to;
    for (let s = to - 1; s >= old; s--) this.pushFree(s);
    for (const l of this.listeners) l(to);
  }
}
