/**
 * An indexed binary min-heap: the item for which `before(a, b)` holds against every other
 * item is on top.
 *
 * Invariants: `items[i].heapIndex === i` for every item in the heap, and -1 for an item that
 * is not in it; so any item can be removed in O(log n), not just the top (beanstalkd's
 * `setpos`). An item is in at most one heap at a time.
 */
export interface HeapItem {
  heapIndex: number;
}

export class PriorityHeap<T extends HeapItem> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const i = this.items.length;
    this.items.push(item);
    item.heapIndex = i;
    this.siftUp(i);
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    this.removeAt(0);
    return top;
  }

  /** Removes `item` if it is in this heap; returns whether it was. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || i >= this.items.length || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  /** Empties the heap; every item's heapIndex becomes -1. */
  clear(): T[] {
    const all = this.items;
    for (const item of all) item.heapIndex = -1;
    this.items = [];
    return all;
  }

  /**
   * The first `limit` items in heap order, without changing the heap: O(k log k), walking
   * the heap's tree with a small frontier heap of candidates.
   */
  firstInOrder(limit: number): T[] {
    const out: T[] = [];
    const items = this.items;
    if (items.length === 0 || limit <= 0) return out;
    const frontier: number[] = [0];
    const less = (x: number, y: number): boolean => this.before(items[x], items[y]);
    while (out.length < limit && frontier.length > 0) {
      const idx = popIndex(frontier, less);
      out.push(items[idx]);
      const l = 2 * idx + 1;
      if (l < items.length) pushIndex(frontier, l, less);
      if (l + 1 < items.length) pushIndex(frontier, l + 1, less);
    }
    return out;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const removed = items[i];
    const last = items.pop() as T;
    removed.heapIndex = -1;
    if (i === items.length) return;
    items[i] = last;
    last.heapIndex = i;
    if (i > 0 && this.before(last, items[(i - 1) >> 1])) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const item = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!this.before(item, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.before(items[r], items[l]) ? r : l;
      const c = items[child];
      if (!this.before(c, item)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}

// A plain array heap of indices for firstInOrder's frontier (small: at most k + 1 entries).
function pushIndex(h: number[], v: number, less: (x: number, y: number) => boolean): void {
  h.push(v);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i], h[p])) break;
    [h[i], h[p]] = [h[p], h[i]];
    i = p;
  }
}

function popIndex(h: number[], less: (x: number, y: number) => boolean): number {
  const top = h[0];
  const last = h.pop() as number;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && less(h[r], h[l]) ? r : l;
      if (!less(h[c], h[i])) break;
      [h[i], h[c]] = [h[c], h[i]];
      i = c;
    }
  }
  return top;
}
