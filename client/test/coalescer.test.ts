/**
 * The coalescer's invariant, for any sequence of adds across queues, flushes and cap changes:
 * every item is sent exactly once, per queue in the order added, in batches of at most the cap.
 * Time is a manual clock: lingers fire only when the test advances it.
 */
import fc from 'fast-check';
import { Coalescer } from '../src/coalescer';
import { ManualClock } from '../../test/support/manual-clock';

type Op = { add: string } | { flush: true } | { advance: number } | { cap: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'c').map((add) => ({ add })) },
  { weight: 1, arbitrary: fc.constant({ flush: true as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }).map((advance) => ({ advance })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((cap) => ({ cap })) },
);

test('every item goes out once, in order per queue, in batches no larger than the cap at the time', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 10 }), (ops, maxSize, linger) => {
      const clock = new ManualClock();
      const sent: { queue: string; items: number[]; cap: number }[] = [];
      const c = new Coalescer<number>({ maxSize, linger }, clock, (queue, items) => sent.push({ queue, items: [...items], cap: c.maxSize }));
      const added: Record<string, number[]> = { a: [], b: [], c: [] };
      let n = 0;
      for (const o of ops) {
        if ('add' in o) {
          added[o.add].push(n);
          c.add(o.add, n++);
        } else if ('flush' in o) c.flush();
        else if ('advance' in o) clock.advance(o.advance);
        else c.maxSize = o.cap;
      }
      c.flush();
      for (const q of ['a', 'b', 'c']) expect(sent.filter((s) => s.queue === q).flatMap((s) => s.items)).toEqual(added[q]);
      for (const s of sent) expect(s.items.length).toBeLessThanOrEqual(s.cap);
      expect(clock.pendingTimers).toBe(0);
    }),
  );
});

test('with linger 0 a batch goes out on the next turn of the event loop', async () => {
  const sent: number[][] = [];
  const c = new Coalescer<number>({}, new ManualClock(), (_, items) => sent.push(items));
  c.add('q', 1);
  c.add('q', 2);
  expect(sent).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(sent).toEqual([[1, 2]]);
});
