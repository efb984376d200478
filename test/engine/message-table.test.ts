import { MessageTable, SlotState } from '../../src/engine/message-table';

test('slots are reused last-freed-first and columns grow, telling listeners', () => {
  const table = new MessageTable(2);
  const sizes: number[] = [];
  table.onGrow((c) => sizes.push(c));
  const a = table.alloc();
  const b = table.alloc();
  const c = table.alloc();
  expect([a, b, c]).toEqual([0, 1, 2]);
  expect(sizes).toEqual([2, 4]);
  table.seq[c] = 42;
  table.release(b);
  expect(table.alloc()).toBe(b);
  expect(table.seq[c]).toBe(42);
  expect(table.size).toBe(3);
});

test('claim takes a given free slot in O(1) (restore), growing the table; alloc never hands it out', () => {
  const table = new MessageTable(4);
  expect(table.claim(9)).toBe(true);
  expect(table.claim(2)).toBe(true);
  expect(table.claim(2)).toBe(false);
  table.state[9] = table.state[2] = SlotState.Ready;
  const got = Array.from({ length: 14 }, () => table.alloc());
  expect(got).not.toContain(2);
  expect(got).not.toContain(9);
  expect(new Set(got).size).toBe(14);
  expect(table.size).toBe(16);
  table.release(got[0]);
  expect(table.claim(got[0])).toBe(true);
  expect(table.claim(got[1])).toBe(false);
});
