/**
 * A hierarchical timing wheel (after Kafka's TimingWheel), driven from outside: it never
 * arms a timer itself. Times are integer milliseconds.
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
 * Invariants: an entry is linked into at most one bucket (`timerBucket`); insert and cancel
 * are O(1) apart from the bucket heap (O(log buckets), and only when a bucket goes from
 * empty to used); an entry fires once, never before its `expiresAt` and at the first
 * `advance(now)` with now >= expiresAt; a cancelled entry never fires.
 */
import { PriorityHeap, type HeapItem } from './priority-heap';

/** An intrusive wheel entry: subclasses (messages, stream wait timers) are linked in directly. */
export abstract class TimerEntry {
  expiresAt = 0;
  timerNext: TimerEntry | null = null;
  timerPrev: TimerEntry | null = null;
  timerBucket: Bucket | null = null;

  get scheduled(): boolean {
    return this.timerBucket !== null;
  }
}

export class Bucket implements HeapItem {
  heapIndex = -1;
  /** When the bucket is due; -1 while it holds nothing and is off the heap. */
  expiration = -1;
  head: TimerEntry | null = null;
}

interface Level {
  tick: number;
  interval: number;
  currentTime: number;
  buckets: Bucket[];
}

export class TimerWheel<T extends TimerEntry = TimerEntry> {
  private readonly levels: Level[] = [];
  private readonly due = new PriorityHeap<Bucket>((a, b) => a.expiration < b.expiration);
  /** Entries added when already due: fired by the next advance(). */
  private readonly overdue = new Bucket();
  private count = 0;

  /**
   * @param startMs the wheel's current time
   * @param onEarlier called when the next deadline moves earlier, so a driver can re-arm
   */
  constructor(
    startMs: number,
    private readonly wheelSize = 256,
    private readonly onEarlier?: (deadline: number) => void,
  ) {
    this.levels.push(this.newLevel(1, startMs));
  }

  /** How many entries are scheduled. */
  get size(): number {
    return this.count;
  }

  /** The wheel's current time: the last time given to advance() (or the start time). */
  get now(): number {
    return this.levels[0].currentTime;
  }

  /** When advance() next has work to do: a bucket's due time (maybe early), or null. */
  nextDeadline(): number | null {
    const top = this.due.peek();
    return top === undefined ? null : top.expiration;
  }

  /**
   * Schedules `entry` at `entry.expiresAt` (must not be scheduled already). A fractional
   * time is rounded up to the next millisecond: an entry never fires early.
   */
  add(entry: T): void {
    entry.expiresAt = Math.ceil(entry.expiresAt);
    this.count++;
    this.place(entry);
  }

  /** Unschedules `entry`; returns whether it was scheduled. O(1). */
  cancel(entry: T): boolean {
    const bucket = entry.timerBucket;
    if (bucket === null) return false;
    unlink(bucket, entry);
    this.count--;
    if (bucket.head === null && this.due.remove(bucket)) bucket.expiration = -1;
    return true;
  }

  /** Moves `entry` to a new expiry (scheduled or not). */
  reschedule(entry: T, expiresAt: number): void {
    this.cancel(entry);
    entry.expiresAt = expiresAt;
    this.add(entry);
  }

  /**
   * Advances the wheel to `now` and calls `fire` for every entry due by then, in order of
   * due bucket. `fire` may add or cancel entries, including ones due at once: they fire in
   * this same call.
   */
  advance(now: number, fire: (entry: T) => void): void {
    const due = this.due;
    for (let b = due.peek(); b !== undefined && b.expiration <= now; b = due.peek()) {
      due.pop();
      this.setTime(b.expiration);
      let e = b.head;
      b.head = null;
      b.expiration = -1;
      while (e !== null) {
        const next = e.timerNext;
        e.timerNext = e.timerPrev = null;
        e.timerBucket = null;
        if (e.expiresAt <= now) {
          this.count--;
          fire(e as T);
        } else {
          this.place(e);
        }
        e = next;
      }
    }
    if (now > this.levels[0].currentTime) this.setTime(now);
  }

  private place(entry: TimerEntry): void {
    const t = entry.expiresAt;
    const level0 = this.levels[0];
    if (t < level0.currentTime + level0.tick) {
      this.link(this.overdue, entry, level0.currentTime);
      return;
    }
    for (let i = 0; ; i++) {
      const level = i < this.levels.length ? this.levels[i] : this.addLevel();
      if (t < level.currentTime + level.interval) {
        const virtualId = Math.floor(t / level.tick);
        this.link(level.buckets[virtualId % this.wheelSize], entry, virtualId * level.tick);
        return;
      }
    }
  }

  private link(bucket: Bucket, entry: TimerEntry, expiration: number): void {
    entry.timerBucket = bucket;
    entry.timerPrev = null;
    entry.timerNext = bucket.head;
    if (bucket.head !== null) bucket.head.timerPrev = entry;
    bucket.head = entry;
    if (bucket.heapIndex < 0) {
      bucket.expiration = expiration;
      const before = this.due.peek();
      this.due.push(bucket);
      if (this.onEarlier !== undefined && (before === undefined || expiration < before.expiration)) {
        this.onEarlier(expiration);
      }
    }
  }

  private setTime(time: number): void {
    for (const level of this.levels) {
      if (time >= level.currentTime + level.tick) level.currentTime = time - (time % level.tick);
    }
  }

  private addLevel(): Level {
    const below = this.levels[this.levels.length - 1];
    const level = this.newLevel(below.interval, this.levels[0].currentTime);
    this.levels.push(level);
    return level;
  }

  private newLevel(tick: number, now: number): Level {
    const buckets: Bucket[] = new Array(this.wheelSize);
    for (let i = 0; i < this.wheelSize; i++) buckets[i] = new Bucket();
    return { tick, interval: tick * this.wheelSize, currentTime: now - (now % tick), buckets };
  }
}

function unlink(bucket: Bucket, entry: TimerEntry): void {
  const prev = entry.timerPrev;
  const next = entry.timerNext;
  if (prev !== null) prev.timerNext = next;
  else bucket.head = next;
  if (next !== null) next.timerPrev = prev;
  entry.timerNext = entry.timerPrev = null;
  entry.timerBucket = null;
}
