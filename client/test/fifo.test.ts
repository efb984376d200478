/** The Fifo against a plain array model, and its memory bound while it never empties. */
import fc from 'fast-check';
import { Fifo } from '../src/fifo';

test('behaves as a queue for any sequence of pushes, shifts and drains', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const), fc.constant('drain' as const)), { maxLength: 500 }), (ops) => {
      const fifo = new Fifo<number>();
      let model: number[] = [];
      for (const op of ops) {
        if (op === 'shift') expect(fifo.shift()).toBe(model.shift());
        else if (op === 'drain') {
          expect(fifo.drain()).toEqual(model);
          model = [];
        } else {
          fifo.push(op);
          model.push(op);
        }
        expect(fifo.size).toBe(model.length);
      }
    }),
  );
});

test('a queue that never empties does not grow its array: one in, one out, a million times', () => {
  const fifo = new Fifo<number>();
  fifo.push(0);
  for (let i = 1; i <= 1_000_000; i++) {
    fifo.push(i);
    expect(fifo.shift()).toBe(i - 1);
  }
  expect((fifo as unknown as { items: unknown[] }).items.length).toBeLessThanOrEqual(130);
});
