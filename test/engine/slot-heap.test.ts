import fc from 'fast-check';
import { MessageTable } from '../../src/engine/message-table';
import { SlotHeap } from '../../src/engine/slot-heap';

const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('pop' as const) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
);

test('SlotHeap agrees with a sorted model (priority desc, then seq asc) under push, pop and remove', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.nat({ max: 50 }), (ops, k) => {
      const table = new MessageTable({ initialCapacity: 4 });
      const heap = new SlotHeap(table);
      let model: number[] = [];
      let seq = 0;
      const order = (a: number, b: number): number => table.priority[b] - table.priority[a] || table.seq[a] - table.seq[b];
      for (const o of ops) {
        if (o.kind === 'push') {
          const slot = table.alloc();
          table.priority[slot] = o.priority;
          table.seq[slot] = seq++;
          heap.push(slot);
          model.push(slot);
          model.sort(order);
        } else if (o.kind === 'pop') {
          const top = heap.pop();
          expect(top).toBe(model.length === 0 ? -1 : model.shift());
          if (top >= 0) table.release(top);
        } else if (model.length > 0) {
          const victim = model[o.pick % model.length];
          expect(heap.remove(victim)).toBe(true);
          expect(table.heapIndex[victim]).toBe(-1);
          model = model.filter((m) => m !== victim);
          table.release(victim);
        }
        expect(heap.size).toBe(model.length);
      }
      expect(heap.firstInOrder(k)).toEqual(model.slice(0, k));
    }),
  );
});
