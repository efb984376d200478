/**
 * A hierarchical timing wheel (after Kafka's TimingWheel), driven from outside: it never
 * arms a timer itself. Entries are integer handles (message slots); the wheel keeps their
 * expiry and links in typed arrays, so scheduling allocates nothing. Times are integer ms.
 *
 * How it works. Level 0 has `wheelSize` buckets of 1 ms each, so it covers the next
 * `wheelSize` ms. Level L has buckets of wheelSize^L ms and covers wheelSize times that;
 * levels are created on demand, so a 12 h lease with wheelSize 256 lives on level 2
 * (256 ms buckets cover 65 s; 65 s buckets cover 4.7 h; level 3 covers 50 days).
 * An entry goes into the lowest level whose span reaches its expiry, in the bucket that
 * holds its expiry. Buckets, not entries, are ordered: a small indexed heap holds every
 * non-empty bucket by the time it is due (its start). When a bucket comes due, entries
 * that are due fire and the others cascade into a lower level.
 *
 * Worked example (wheelSize 256, now = 1000): an entry due at 1100 goes to level 0,
 * bucket 1100 % 256, due at 1100. An entry due at 70,000 is past level 0's span
 * (1000..1255) and level 1's (768..66,303), so it goes to level 2, whose bucket covering
 * 0..65,535 is due at 0, and the one for 65,536..131,071 at 65,536: it goes there. At
 * 65,536 that bucket comes due and the entry moves to level 1 (bucket due at 69,888),
 * then at 69,888 to level 0 (bucket due at 70,000), where it fires.
 *
 * Its per-handle columns grow in place (columns.ts), so growing copies nothing.
 *
 * Invariants: a handle is linked into at most one bucket (`bucketOf[h]`, -1 when not
 * scheduled); insert and cancel are O(1) apart from the bucket heap (O(log buckets), and
 * only when a bucket goes from empty to used); an entry fires once, never before its expiry
 * and at the first `advance(now)` with now >= expiry; a cancelled entry never fires.
 */
import { growColumn, newColumn } from './columns';
import { PriorityHeap, type HeapItem } from './priority-heap';

const NONE = -1;

class Bucket implements HeapItem {
  heapIndex = -1;
  /** When the bucket is due; -1 while it holds nothing and is off the heap. */
  expiration = -1;
  head = NONE;
  constructor(readonly id: number) {}
}

interface Level {
  tick: number;
  interval: number;
  currentTime: number;
  /** Bucket ids of this level. */
  first: number;
}

export class TimerWheel {
  private expiry: Float64Array;
  private next: Int32Array;
  private prev: Int32Array;
  private bucketOf: Int32Array;
  private readonly buckets: Bucket[] = [];
  private readonly levels: Level[] = [];
  private readonly due = new PriorityHeap<Bucket>((a, b) => a.expiration < b.expiration);
  /** Entries added when already due: fired by the next advance(). */
  private readonly overdue: Bucket;
  private count = 0;

  /**
   * @param startMs the wheel's current time
   * @param onEarlier called when the next deadline moves earlier, so a driver can re-arm
   */
  constructor(
    startMs: number,
    private readonly wheelSize = 256,
    private readonly onEarlier?: (deadline: number) => void,
    capacity = 1024,
  ) {
    this.expiry = newColumn(Float64Array, capacity);
    this.next = newColumn(Int32Array, capacity);
    this.prev = newColumn(Int32Array, capacity);
    this.bucketOf = newColumn(Int32Array, capacity).fill(NONE);
    this.overdue = this.newBucket();
    this.levels.push(this.newLevel(1, startMs));
  }

  /** How many entries are scheduled. */
  get size(): number {
    return this.count;
  }

  /** Makes room for handles below `capacity`: in place, O(capacity - old capacity). */
  grow(capacity: number): void {
    const old = this.expiry.length;
    if (capacity <= old) return;
    this.expiry = growColumn(this.expiry, capacity);
    this.next = growColumn(this.next, capacity);
    this.prev = growColumn(this.prev, capacity);
    this.bucketOf = growColumn(this.bucketOf, capacity).fill(NONE, old);
  }

  /** When advance() next has work to do: a bucket's due time (maybe early), or null. */
  nextDeadline(): number | null {
    const top = this.due.peek();
    return top === undefined ? null : top.expiration;
  }

  isScheduled(h: number): boolean {
    return this.bucketOf[h] !== NONE;
  }

  /** The expiry `h` was scheduled at (kept after it fires). */
  expiryOf(h: number): number {
    return this.expiry[h];
  }

  /**
   * Schedules handle `h` at `at` (it must not be scheduled). A fractional time is rounded
   * up to the next millisecond: an entry never fires early.
   */
  add(h: number, at: number): void {
    this.expiry[h] = Math.ceil(at);
    this.count++;
    this.place(h);
  }

  /** Unschedules `h`; returns whether it was scheduled. O(1). */
  cancel(h: number): boolean {
    const b = this.bucketOf[h];
    if (b === NONE) return false;
    const bucket = this.buckets[b];
    this.unlink(bucket, h);
    this.count--;
    if (bucket.head === NONE && this.due.remove(bucket)) bucket.expiration = -1;
    return true;
  }

  /** Moves `h` to a new expiry (scheduled or not). */
  reschedule(h: number, at: number): void {
    this.cancel(h);
    this.add(h, at);
  }

  /**
   * Advances the wheel to `now` and calls `fire` for every entry due by then, in order of
   * due bucket. `fire` may add or cancel entries, including ones due at once: they fire in
   * this same call.
   */
  advance(now: number, fire: (h: number) => void): void {
    const due = this.due;
    for (let b = due.peek(); b !== undefined && b.expiration <= now; b = due.peek()) {
      due.pop();
      this.setTime(b.expiration);
      let h = b.head;
      b.head = NONE;
      b.expiration = -1;
      while (h !== NONE) {
        const next = this.next[h];
        this.bucketOf[h] = NONE;
        if (this.expiry[h] <= now) {
          this.count--;
          fire(h);
        } else {
          this.place(h);
        }
        h = next;
      }
    }
    if (now > this.levels[0].currentTime) this.setTime(now);
  }

  private place(h: number): void {
    const t = this.expiry[h];
    const level0 = this.levels[0];
    if (t < level0.currentTime + level0.tick) {
      this.link(this.overdue, h, level0.currentTime);
      return;
    }
    for (let i = 0; ; i++) {
      const level = i < this.levels.length ? this.levels[i] : this.addLevel();
      if (t < level.currentTime + level.interval) {
        const virtualId = Math.floor(t / level.tick);
        this.link(this.buckets[level.first + (virtualId % this.wheelSize)], h, virtualId * level.tick);
        return;
      }
    }
  }

  private link(bucket: Bucket, h: number, expiration: number): void {
    this.bucketOf[h] = bucket.id;
    this.prev[h] = NONE;
    this.next[h] = bucket.head;
    if (bucket.head !== NONE) this.prev[bucket.head] = h;
    bucket.head = h;
    if (bucket.heapIndex < 0) {
      bucket.expiration = expiration;
      const before = this.due.peek();
      this.due.push(bucket);
      if (this.onEarlier !== undefined && (before === undefined || expiration < before.expiration)) {
        this.onEarlier(expiration);
      }
    }
  }

  private unlink(bucket: Bucket, h: number): void {
    const prev = this.prev[h];
    const next = this.next[h];
    if (prev !== NONE) this.next[prev] = next;
    else bucket.head = next;
    if (next !== NONE) this.prev[next] = prev;
    this.bucketOf[h] = NONE;
  }

  private setTime(time: number): void {
    for (const level of this.levels) {
      if (time >= level.currentTime + level.tick) level.currentTime = time - (time % level.tick);
    }
  }

  private newBucket(): Bucket {
    const b = new Bucket(this.buckets.length);
    this.buckets.push(b);
    return b;
  }

  private addLevel(): Level {
    const below = this.levels[this.levels.length - 1];
    const level = this.newLevel(below.interval, this.levels[0].currentTime);
    this.levels.push(level);
    return level;
  }

  private newLevel(tick: number, now: number): Level {
    const first = this.buckets.length;
    for (let i = 0; i < this.wheelSize; i++) this.newBucket();
    return { tick, interval: tick * this.wheelSize, currentTime: now - (now % tick), first };
  }
}
