/**
 * A binary heap of message slots in delivery order: higher priority first, then lower
 * sequence number (enqueue order). The heap array is an Int32Array; each slot's position is
 * kept in the table's `heapIndex` column, so any slot is removable in O(log n) (beanstalkd's
 * `setpos`), and nothing is allocated per operation.
 *
 * Its array doubles while small and grows in place by fixed steps once large (see BIG).
 *
 * Invariants: `table.heapIndex[items[i]] === i` for i < size; -1 for slots not in the heap.
 */
import { growColumn, newColumn } from './columns';
import type { MessageTable } from './message-table';

/**
 * Up to this many entries the heap's array doubles (copying at most 256 KiB); past it, the
 * array moves once into a column of its own (columns.ts) that grows in place by this many
 * entries at a time, so a queue of millions never stops to copy its heap. Only queues that
 * large reserve address space for it.
 */
const BIG = 1 << 16;

export class SlotHeap {
  private items: Int32Array = new Int32Array(64);
  private count = 0;
  /** Whether `items` is a column of its own (it grows in place). */
  private inPlace = false;

  constructor(private readonly table: MessageTable) {}

  get size(): number {
    return this.count;
  }

  peek(): number {
    return this.count === 0 ? -1 : this.items[0];
  }

  push(slot: number): void {
    if (this.count === this.items.length) this.items = this.grown();
    this.siftUp(this.count++, slot);
  }

  /** The items array with room for more: doubled while small, grown in place once big. */
  private grown(): Int32Array {
    const n = this.items.length;
    if (this.inPlace) return growColumn(this.items, n + BIG);
    const bigger = n < BIG ? new Int32Array(2 * n) : newColumn(Int32Array, n + BIG);
    bigger.set(this.items);
    this.inPlace = n >= BIG;
    return bigger;
  }

  /** Removes and returns the first slot (-1 when empty). */
  pop(): number {
    if (this.count === 0) return -1;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  /** Removes `slot` if it is in this heap; returns whether it was. */
  remove(slot: number): boolean {
    const i = this.table.heapIndex[slot];
    if (i < 0 || i >= this.count || this.items[i] !== slot) return false;
    this.removeAt(i);
    return true;
  }

  /** Empties the heap, calling `visit` for each slot. */
  clear(visit?: (slot: number) => void): void {
    const h = this.table.heapIndex;
    for (let i = 0; i < this.count; i++) {
      h[this.items[i]] = -1;
      visit?.(this.items[i]);
    }
    this.count = 0;
  }

  /** The first `limit` slots in delivery order, without changing the heap: O(k log k). */
  firstInOrder(limit: number): number[] {
    const out: number[] = [];
    const frontier: number[] = []; // heap positions, kept sorted by their slot's order
    if (this.count > 0) frontier.push(0);
    while (out.length < limit && frontier.length > 0) {
      const at = frontier.shift() as number;
      out.push(this.items[at]);
      for (const child of [2 * at + 1, 2 * at + 2]) {
        if (child >= this.count) continue;
        let i = frontier.length;
        while (i > 0 && this.before(this.items[child], this.items[frontier[i - 1]])) i--;
        frontier.splice(i, 0, child);
      }
    }
    return out;
  }

  private before(a: number, b: number): boolean {
    const p = this.table.priority;
    return p[a] > p[b] || (p[a] === p[b] && this.table.seq[a] < this.table.seq[b]);
  }

  private removeAt(i: number): void {
    const items = this.items;
    this.table.heapIndex[items[i]] = -1;
    const last = items[--this.count];
    if (i === this.count) return;
    if (i > 0 && this.before(last, items[(i - 1) >> 1])) this.siftUp(i, last);
    else this.siftDown(i, last);
  }

  /**
   * Fills the hole at `i` with `slot`, going down (Floyd's bottom-up variant): the hole first
   * follows the better child all the way to a leaf, one comparison per level, then `slot`
   * climbs back up from there, which for the last item of a heap is rarely more than a step.
   * About half the comparisons (each two random reads) of the textbook sift-down.
   */
  private siftDown(i: number, slot: number): void {
    const items = this.items;
    const h = this.table.heapIndex;
    const p = this.table.priority;
    const seq = this.table.seq;
    const n = this.count;
    const start = i;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let child = l;
      const r = l + 1;
      if (r < n) {
        const a = items[r];
        const b = items[l];
        if (p[a] > p[b] || (p[a] === p[b] && seq[a] < seq[b])) child = r;
      }
      const c = items[child];
      items[i] = c;
      h[c] = i;
      i = child;
    }
    // Climb back: `slot` goes up while it comes before its parent (never above `start`).
    const ps = p[slot];
    const ss = seq[slot];
    while (i > start) {
      const parent = (i - 1) >> 1;
      const q = items[parent];
      if (!(ps > p[q] || (ps === p[q] && ss < seq[q]))) break;
      items[i] = q;
      h[q] = i;
      i = parent;
    }
    items[i] = slot;
    h[slot] = i;
  }

  private siftUp(i: number, slot: number): void {
    const items = this.items;
    const h = this.table.heapIndex;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!this.before(slot, p)) break;
      items[i] = p;
      h[p] = i;
      i = parent;
    }
    items[i] = slot;
    h[slot] = i;
  }
}
