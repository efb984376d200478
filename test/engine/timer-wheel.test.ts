import fc from 'fast-check';
import { TimerEntry, TimerWheel } from '../../src/engine/timer-wheel';

class T extends TimerEntry {
  constructor(
    readonly name: number,
    at: number,
  ) {
    super();
    this.expiresAt = at;
  }
}

const START = 1_000_000;

describe('TimerWheel', () => {
  test('every timer fires exactly once at its due tick; cancelled ones never (any schedule, any advance steps)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 5_000_000 }), cancel: fc.boolean() }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 700_000 }), { minLength: 1, maxLength: 40 }),
        (timers, steps) => {
          const wheel = new TimerWheel<T>(START, 8); // a small wheel forces many levels and cascades
          const entries = timers.map((t, i) => new T(i, START + t.delay));
          entries.forEach((e) => wheel.add(e));
          const cancelled = new Set(entries.filter((_, i) => timers[i].cancel));
          cancelled.forEach((e) => expect(wheel.cancel(e)).toBe(true));
          const firedAt = new Map<T, number>();
          let now = START;
          const fire = (e: T): void => {
            expect(firedAt.has(e)).toBe(false);
            firedAt.set(e, now);
          };
          let advancedTo = -Infinity;
          for (const step of steps) {
            const prev = advancedTo;
            now += step;
            wheel.advance(now, fire);
            // Everything due by now fired in this step or before, nothing early.
            for (const e of entries) {
              if (cancelled.has(e)) continue;
              if (e.expiresAt <= now) expect(firedAt.has(e)).toBe(true);
              else expect(firedAt.has(e)).toBe(false);
              if (firedAt.get(e) === now && e.expiresAt <= prev) throw new Error('fired late');
            }
            advancedTo = now;
          }
          for (const e of cancelled) expect(firedAt.has(e)).toBe(false);
          expect(wheel.size).toBe(entries.filter((e) => !cancelled.has(e) && e.expiresAt > now).length);
        },
      ),
    );
  });

  test('advancing one millisecond at a time fires each timer exactly at its due tick', () => {
    const wheel = new TimerWheel<T>(START, 16);
    const delays = [1, 2, 15, 16, 17, 255, 256, 257, 4095, 4096, 4097, 70_000];
    const entries = delays.map((d, i) => new T(i, START + d));
    entries.forEach((e) => wheel.add(e));
    const firedAt = new Map<number, number>();
    for (let now = START + 1; now <= START + 70_000; now++) {
      wheel.advance(now, (e) => firedAt.set(e.name, now));
    }
    entries.forEach((e) => expect(firedAt.get(e.name)).toBe(e.expiresAt));
  });

  test('long delays go through overflow levels and still fire on time', () => {
    const wheel = new TimerWheel<T>(START, 256);
    const twelveHours = 12 * 3600 * 1000;
    const e = new T(1, START + twelveHours);
    wheel.add(e);
    const fired: number[] = [];
    // Jump through the wheel's bucket deadlines as a driver would.
    for (let d = wheel.nextDeadline(); d !== null; d = wheel.nextDeadline()) {
      wheel.advance(d, () => fired.push(d));
    }
    expect(fired).toEqual([START + twelveHours]);
  });

  test('a timer added when already due fires at the next advance', () => {
    const wheel = new TimerWheel<T>(START, 256);
    wheel.advance(START + 100, () => {});
    const late = new T(1, START + 50);
    wheel.add(late);
    expect(wheel.nextDeadline()).toBeLessThanOrEqual(START + 100);
    const fired: T[] = [];
    wheel.advance(START + 100, (t) => fired.push(t));
    expect(fired).toEqual([late]);
  });

  test('timers added by a firing timer fire in the same advance when due', () => {
    const wheel = new TimerWheel<T>(START, 256);
    wheel.add(new T(1, START + 10));
    const fired: number[] = [];
    wheel.advance(START + 1000, (t) => {
      fired.push(t.name);
      if (t.name === 1) wheel.add(new T(2, START + 500));
      if (t.name === 2) wheel.add(new T(3, START + 2000));
    });
    expect(fired).toEqual([1, 2]);
    expect(wheel.size).toBe(1);
  });

  test('reschedule moves a timer; onEarlier reports an earlier deadline', () => {
    const earlier: number[] = [];
    const wheel = new TimerWheel<T>(START, 256, (d) => earlier.push(d));
    const a = new T(1, START + 5000);
    wheel.add(a);
    expect(earlier).toEqual([Math.floor((START + 5000) / 256) * 256]); // level-1 bucket start (256 ms buckets)
    wheel.reschedule(a, START + 20);
    expect(earlier[earlier.length - 1]).toBe(START + 20);
    const fired: T[] = [];
    wheel.advance(START + 19, (t) => fired.push(t));
    expect(fired).toEqual([]);
    wheel.advance(START + 20, (t) => fired.push(t));
    expect(fired).toEqual([a]);
  });

  test('a fractional expiry fires at the next whole millisecond, never early, and advance terminates', () => {
    const wheel = new TimerWheel<T>(START, 256);
    const a = new T(1, START + 10.3);
    wheel.add(a);
    const fired: number[] = [];
    wheel.advance(START + 10, () => fired.push(10));
    expect(fired).toEqual([]);
    wheel.advance(START + 11, () => fired.push(11));
    expect(fired).toEqual([11]);
    expect(wheel.nextDeadline()).toBeNull();
  });

  test('cancelling the last timer of a bucket clears the deadline', () => {
    const wheel = new TimerWheel<T>(START, 256);
    const a = new T(1, START + 30);
    wheel.add(a);
    expect(wheel.nextDeadline()).toBe(START + 30);
    wheel.cancel(a);
    expect(wheel.nextDeadline()).toBeNull();
    expect(wheel.cancel(a)).toBe(false);
  });
});
