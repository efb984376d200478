/**
 * A first-in first-out queue on an array with a moving head: O(1) push and shift, no
 * allocation per item. The consumed front is dropped once it is at least half the array, so
 * the array never holds more than twice what is queued (plus a small constant), however long
 * the queue stays non-empty.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** What the queue holds, in order, without taking it (a copy). */
  peekAll(): T[] {
    return this.items.slice(this.head) as T[];
  }

  /** Empties the queue, returning what it held in order. */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}
