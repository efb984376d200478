/**
 * Every live message of the broker, one slot each, as columns (struct of arrays): typed
 * arrays for numbers, plain arrays only for what is usually absent (client ids, attributes)
 * or only present in flight (the lease: receipt and holder). A queued message is a slot number: no JS
 * object per message, so a million queued messages cost the garbage collector nothing.
 *
 * Invariants: a slot is Free or belongs to exactly one queue (`queueId`) in one state;
 * free slots are on a stack (each knows its place in it, so a given slot can be claimed in
 * O(1)) and reused last-freed-first, which keeps slot numbers (and so
 * the columns' touched memory) as small as the live count allows. Columns grow by doubling;
 * listeners (the timer wheel, the payload store) grow with them.
 */
import type { Attributes } from './message';
import type { Consumer } from './consumer';

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

/** A delivery's hold on a message: its receipt and the consumer it went to. */
export interface Lease {
  readonly receipt: string;
  readonly holder: Consumer;
}

const NONE = -1;

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
  extras: (Extras | undefined)[];
  /** Set while the message is in flight (one column, not two: 8 bytes less per queued message). */
  lease: (Lease | undefined)[];
  /**
   * Storage's own handle for each message (see JournaledMessage); opaque to the engine. Empty
   * until a storage sets one (in-memory storage never does, and so saves the column): read
   * and write it through `journalRef()` / `setJournalRef()`.
   */
  private refs: unknown[] = [];
  /** The stack of free slots, and each free slot's position in it (for claim). */
  private free: Int32Array;
  private freePos: Int32Array;
  private freeTop = 0;
  private used = 0;
  private readonly listeners: ((capacity: number) => void)[] = [];

  constructor(capacity = 1024) {
    this.capacity = capacity;
    this.seq = new Float64Array(capacity);
    this.enqueuedAt = new Float64Array(capacity);
    this.priority = new Int32Array(capacity);
    this.deliveryCount = new Int32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.queueId = new Int32Array(capacity);
    this.heapIndex = new Int32Array(capacity).fill(NONE);
    this.liveNext = new Int32Array(capacity);
    this.livePrev = new Int32Array(capacity);
    this.extras = new Array(capacity).fill(undefined);
    this.lease = new Array(capacity).fill(undefined);
    this.free = new Int32Array(capacity);
    this.freePos = new Int32Array(capacity);
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
    if (this.freeTop === 0) this.grow(this.capacity * 2);
    const slot = this.free[--this.freeTop];
    this.freePos[slot] = NONE;
    this.used++;
    return slot;
  }

  journalRef(slot: number): unknown {
    return this.refs.length > 0 ? this.refs[slot] : undefined;
  }

  setJournalRef(slot: number, ref: unknown): void {
    if (this.refs.length === 0) {
      if (ref === undefined) return;
      this.refs = new Array(this.capacity).fill(undefined);
    }
    this.refs[slot] = ref;
  }

  release(slot: number): void {
    this.state[slot] = SlotState.Free;
    this.heapIndex[slot] = NONE;
    this.extras[slot] = undefined;
    this.lease[slot] = undefined;
    if (this.refs.length > 0) this.refs[slot] = undefined;
    this.pushFree(slot);
    this.used--;
  }

  /**
   * Takes a given slot if it is free (restoring a message under the slot its id names);
   * returns whether it was. O(1).
   */
  claim(slot: number): boolean {
    if (slot >= this.capacity) this.grow(Math.max(this.capacity * 2, 2 ** Math.ceil(Math.log2(slot + 1))));
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

  private grow(capacity: number): void {
    const old = this.capacity;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array, fill = 0): Int32Array => {
      const b = new Int32Array(capacity);
      if (fill !== 0) b.fill(fill, old);
      b.set(a);
      return b;
    };
    this.seq = f64(this.seq);
    this.enqueuedAt = f64(this.enqueuedAt);
    this.priority = i32(this.priority);
    this.deliveryCount = i32(this.deliveryCount);
    const state = new Uint8Array(capacity);
    state.set(this.state);
    this.state = state;
    this.queueId = i32(this.queueId);
    this.heapIndex = i32(this.heapIndex, NONE);
    this.liveNext = i32(this.liveNext);
    this.livePrev = i32(this.livePrev);
    // Exactly `capacity` long: push() would let V8 over-allocate each array by half.
    const column = <T>(a: T[]): T[] => {
      const b = new Array<T>(capacity).fill(undefined as T);
      for (let s = 0; s < old; s++) b[s] = a[s];
      return b;
    };
    this.extras = column(this.extras);
    this.lease = column(this.lease);
    if (this.refs.length > 0) this.refs = column(this.refs);
    const free = new Int32Array(capacity);
    free.set(this.free.subarray(0, this.freeTop));
    this.free = free;
    this.freePos = i32(this.freePos);
    this.capacity = capacity;
    for (let s = capacity - 1; s >= old; s--) this.pushFree(s);
    for (const l of this.listeners) l(capacity);
  }
}
