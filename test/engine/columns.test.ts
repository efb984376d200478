import fc from 'fast-check';
import { SparseColumn, growColumn, newColumn } from '../../src/engine/columns';

test('a typed column grows to exactly the length asked, keeping its values, the new elements zero', () => {
  for (const type of [Float64Array, Int32Array, Uint8Array] as const) {
    let c = newColumn(type as typeof Int32Array, 5, 1 << 20);
    expect(c).toBeInstanceOf(type);
    expect(c.length).toBe(5);
    c.set([1, 2, 3, 4, 5]);
    c = growColumn(c, 70_000);
    expect(c.length).toBe(70_000);
    expect(Array.from(c.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 0]);
    expect(c[69_999]).toBe(0);
    c[69_999] = 7;
    expect(growColumn(c, 10)).toBe(c); // never shrinks
    expect(growColumn(c, 70_001)[69_999]).toBe(7);
  }
});

test('a column grown past its reservation is copied into a bigger one, values kept', () => {
  let c = newColumn(Float64Array, 3, 4);
  c.set([0.5, 1.5, 2.5]);
  for (let length = 4; length <= 300_000; length = Math.ceil(length * 1.7)) {
    c = growColumn(c, length);
    expect(c.length).toBe(length);
    c[length - 1] = length;
  }
  expect(Array.from(c.subarray(0, 3))).toEqual([0.5, 1.5, 2.5]);
  for (let length = 4; length <= 300_000; length = Math.ceil(length * 1.7)) expect(c[length - 1]).toBe(length);
});

test('a view kept from before a growth still reads and writes the same elements', () => {
  const before = newColumn(Int32Array, 10, 1 << 20);
  const after = growColumn(before, 100_000);
  before[3] = 42;
  expect(after[3]).toBe(42);
  after[4] = 43;
  expect(before[4]).toBe(43);
});

test('a sparse column reads like a Map of what was set, across chunks, and makes chunks only where set', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ slot: fc.oneof(fc.nat(10_000), fc.nat(200_000)), value: fc.option(fc.string(), { nil: undefined }), clear: fc.boolean() }), { maxLength: 200 }),
      (ops) => {
        const column = new SparseColumn<string>();
        const model = new Map<number, string>();
        for (const { slot, value, clear } of ops) {
          if (clear) {
            column.clear(slot);
            model.delete(slot);
          } else {
            column.set(slot, value);
            if (value === undefined) model.delete(slot);
            else model.set(slot, value);
          }
        }
        for (const { slot } of ops) {
          expect(column.get(slot)).toBe(model.get(slot));
          expect(column.get(slot + 1)).toBe(model.get(slot + 1));
        }
        const chunks = new Set(ops.filter((o) => !o.clear && o.value !== undefined).map((o) => o.slot >>> 12));
        expect(column.chunkCount).toBe(chunks.size);
      },
    ),
  );
});

test('a sparse column never set costs no chunk, and reads undefined anywhere', () => {
  const column = new SparseColumn<object>();
  column.clear(5);
  column.set(1 << 20, undefined);
  expect(column.get(0)).toBeUndefined();
  expect(column.get(1 << 20)).toBeUndefined();
  expect(column.chunkCount).toBe(0);
});
