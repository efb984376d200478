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
