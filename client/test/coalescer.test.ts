/**
 * The coalescer's invariant, for any sequence of adds across queues, flushes and cap changes:
 * every item is sent exactly once, in the order added (so in order per queue too), in batches
 * of at most the cap, and items of different queues share batches. Time is a manual clock:
 * lingers fire only when the test advances it.
 */
import fc from 'fast-check';
import { Coalescer } from '../src/coalescer';
import { ManualClock } from '../../test/support/manual-clock';

type Op = { add: string } | { flush: true } | { advance: number } | { cap: number };
type Item = { queue: string; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'c').map((add) => ({ add })) },
  { weight: 1, arbitrary: fc.constant({ flush: true as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }).map((advance) => ({ advance })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((cap) => ({ cap })) },
);

test('every item goes out once, in the order added whatever its queue, in batches no larger than the cap at the time, also when sending changes the cap', () => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 200 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 10 }),
      // Caps that `send` sets, in turn, as BatchCall's does by what is unanswered (none: it leaves the cap alone).
      fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 5 }),
      (ops, maxSize, linger, capsOnSend) => {
      const clock = new ManualClock();
      const sent: { items: Item[]; cap: number }[] = [];
      const c = new Coalescer<Item>({ maxSize, linger }, clock, (items) => {
        sent.push({ items: [...items], cap: c.maxSize });
        if (capsOnSend.length > 0) c.maxSize = capsOnSend[sent.length % capsOnSend.length];
      });
      const added: Item[] = [];
      for (const o of ops) {
        if ('add' in o) {
          const item = { queue: o.add, n: added.length };
          added.push(item);
          c.add(item);
        } else if ('flush' in o) c.flush();
        else if ('advance' in o) clock.advance(o.advance);
        else c.maxSize = o.cap;
      }
      c.flush();
      expect(sent.flatMap((s) => s.items)).toEqual(added);
      for (const s of sent) expect(s.items.length).toBeLessThanOrEqual(s.cap);
      expect(clock.pendingTimers).toBe(0);
      },
    ),
  );
});

test('calls for different queues in one turn share one batch', async () => {
  const sent: string[][] = [];
  const c = new Coalescer<string>({ maxSize: 4 }, new ManualClock(), (items) => void sent.push(items));
  for (const q of ['a', 'b', 'c', 'a', 'd', 'e']) c.add(q);
  expect(sent).toEqual([['a', 'b', 'c', 'a']]); // the cap, whatever the queues
  await new Promise((r) => setImmediate(r));
  expect(sent).toEqual([['a', 'b', 'c', 'a'], ['d', 'e']]);
});

test('with linger 0 a batch goes out on the next turn of the event loop', async () => {
  const sent: number[][] = [];
  const c = new Coalescer<number>({}, new ManualClock(), (items) => void sent.push(items));
  c.add(1);
  c.add(2);
  expect(sent).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(sent).toEqual([[1, 2]]);
});
