import fc from 'fast-check';
import { PriorityHeap } from '../../src/engine/priority-heap';

interface Item {
  heapIndex: number;
  priority: number;
  seq: number;
}

const before = (a: Item, b: Item): boolean => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
const modelOrder = (a: Item, b: Item): number => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

// An operation sequence: push an item, pop the top, or remove an arbitrary live item.
const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('pop' as const) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
);

describe('PriorityHeap', () => {
  test('agrees with a sorted model under any mix of push, pop and remove', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const heap = new PriorityHeap<Item>(before);
        let model: Item[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const item = { heapIndex: -1, priority: o.priority, seq: seq++ };
            heap.push(item);
            model.push(item);
            model.sort(modelOrder);
          } else if (o.kind === 'pop') {
            expect(heap.pop()).toBe(model.shift());
          } else if (model.length > 0) {
            const victim = model[o.pick % model.length];
            expect(heap.remove(victim)).toBe(true);
            expect(victim.heapIndex).toBe(-1);
            model = model.filter((m) => m !== victim);
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model[0]);
        }
      }),
    );
  });

  test('equal priorities come out in insertion order (FIFO)', () => {
    const heap = new PriorityHeap<Item>(before);
    const items = Array.from({ length: 100 }, (_, i) => ({ heapIndex: -1, priority: 7, seq: i }));
    for (const it of [...items].reverse()) heap.push(it);
    const out: number[] = [];
    for (let it = heap.pop(); it; it = heap.pop()) out.push(it.seq);
    expect(out).toEqual(items.map((i) => i.seq));
  });

  test('remove of an item not in the heap is refused', () => {
    const heap = new PriorityHeap<Item>(before);
    const a = { heapIndex: -1, priority: 1, seq: 1 };
    expect(heap.remove(a)).toBe(false);
    heap.push(a);
    expect(heap.pop()).toBe(a);
    expect(heap.remove(a)).toBe(false);
  });
});
