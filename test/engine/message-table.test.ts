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

test('claim takes given slots (restore); rebuildFreeList hands out the others, lowest first', () => {
  const table = new MessageTable(4);
  expect(table.claim(9)).toBe(true);
  expect(table.claim(2)).toBe(true);
  expect(table.claim(2)).toBe(false);
  table.rebuildFreeList();
  table.state[9] = table.state[2] = SlotState.Ready;
  const got = Array.from({ length: 5 }, () => table.alloc());
  expect(got).toEqual([0, 1, 3, 4, 5]);
  expect(table.size).toBe(7);
});
