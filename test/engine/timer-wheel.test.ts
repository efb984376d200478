import fc from 'fast-check';
import { TimerWheel } from '../../src/engine/timer-wheel';

const START = 1_000_000;

describe('TimerWheel', () => {
  test('every timer fires exactly once at its due tick; cancelled ones never (any schedule, any advance steps)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 5_000_000 }), cancel: fc.boolean() }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 700_000 }), { minLength: 1, maxLength: 40 }),
        (timers, steps) => {
          const wheel = new TimerWheel(START, 8, undefined, 4); // a small wheel forces many levels and cascades
          wheel.grow(timers.length);
          const at = timers.map((t) => START + t.delay);
          at.forEach((t, h) => wheel.add(h, t));
          const cancelled = new Set(timers.flatMap((t, h) => (t.cancel ? [h] : [])));
          cancelled.forEach((h) => expect(wheel.cancel(h)).toBe(true));
          const firedAt = new Map<number, number>();
          let now = START;
          const fire = (h: number): void => {
            expect(firedAt.has(h)).toBe(false);
            firedAt.set(h, now);
          };
          let advancedTo = -Infinity;
          for (const step of steps) {
            const prev = advancedTo;
            now += step;
            wheel.advance(now, fire);
            // Everything due by now fired in this step or before, nothing early.
            at.forEach((t, h) => {
              if (cancelled.has(h)) return;
              expect(firedAt.has(h)).toBe(t <= now);
              if (firedAt.get(h) === now && t <= prev) throw new Error('fired late');
            });
            advancedTo = now;
          }
          for (const h of cancelled) expect(firedAt.has(h)).toBe(false);
          expect(wheel.size).toBe(at.filter((t, h) => !cancelled.has(h) && t > now).length);
        },
      ),
    );
  });

  test('advancing one millisecond at a time fires each timer exactly at its due tick', () => {
    const wheel = new TimerWheel(START, 16);
    const delays = [1, 2, 15, 16, 17, 255, 256, 257, 4095, 4096, 4097, 70_000];
    delays.forEach((d, h) => wheel.add(h, START + d));
    const firedAt = new Map<number, number>();
    for (let now = START + 1; now <= START + 70_000; now++) {
      wheel.advance(now, (h) => firedAt.set(h, now));
    }
    delays.forEach((d, h) => expect(firedAt.get(h)).toBe(START + d));
  });

  test('long delays go through overflow levels and still fire on time', () => {
    const wheel = new TimerWheel(START, 256);
    const twelveHours = 12 * 3600 * 1000;
    wheel.add(0, START + twelveHours);
    const fired: number[] = [];
    // Jump through the wheel's bucket deadlines as a driver would.
    for (let d = wheel.nextDeadline(); d !== null; d = wheel.nextDeadline()) {
      wheel.advance(d, () => fired.push(d));
    }
    expect(fired).toEqual([START + twelveHours]);
  });

  test('a timer added when already due fires at the next advance', () => {
    const wheel = new TimerWheel(START, 256);
    wheel.advance(START + 100, () => {});
    wheel.add(7, START + 50);
    expect(wheel.nextDeadline()).toBeLessThanOrEqual(START + 100);
    const fired: number[] = [];
    wheel.advance(START + 100, (h) => fired.push(h));
    expect(fired).toEqual([7]);
  });

  test('timers added by a firing timer fire in the same advance when due', () => {
    const wheel = new TimerWheel(START, 256);
    wheel.add(1, START + 10);
    const fired: number[] = [];
    wheel.advance(START + 1000, (h) => {
      fired.push(h);
      if (h === 1) wheel.add(2, START + 500);
      if (h === 2) wheel.add(3, START + 2000);
    });
    expect(fired).toEqual([1, 2]);
    expect(wheel.size).toBe(1);
  });

  test('reschedule moves a timer; onEarlier reports an earlier deadline', () => {
    const earlier: number[] = [];
    const wheel = new TimerWheel(START, 256, (d) => earlier.push(d));
    wheel.add(0, START + 5000);
    expect(earlier).toEqual([Math.floor((START + 5000) / 256) * 256]); // level-1 bucket start (256 ms buckets)
    wheel.reschedule(0, START + 20);
    expect(earlier[earlier.length - 1]).toBe(START + 20);
    const fired: number[] = [];
    wheel.advance(START + 19, (h) => fired.push(h));
    expect(fired).toEqual([]);
    wheel.advance(START + 20, (h) => fired.push(h));
    expect(fired).toEqual([0]);
  });

  test('a fractional expiry fires at the next whole millisecond, never early, and advance terminates', () => {
    const wheel = new TimerWheel(START, 256);
    wheel.add(0, START + 10.3);
    const fired: number[] = [];
    wheel.advance(START + 10, () => fired.push(10));
    expect(fired).toEqual([]);
    wheel.advance(START + 11, () => fired.push(11));
    expect(fired).toEqual([11]);
    expect(wheel.nextDeadline()).toBeNull();
  });

  test('cancelling the last timer of a bucket clears the deadline; grow keeps scheduled entries', () => {
    const wheel = new TimerWheel(START, 256, undefined, 2);
    wheel.add(1, START + 30);
    expect(wheel.nextDeadline()).toBe(START + 30);
    wheel.grow(5000);
    wheel.add(4999, START + 40);
    wheel.cancel(1);
    expect(wheel.nextDeadline()).toBe(START + 40);
    expect(wheel.cancel(1)).toBe(false);
    const fired: number[] = [];
    wheel.advance(START + 100, (h) => fired.push(h));
    expect(fired).toEqual([4999]);
  });
});
