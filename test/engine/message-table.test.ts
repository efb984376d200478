import { SparseColumn } from '../../src/engine/columns';
import { MessageTable, SlotState } from '../../src/engine/message-table';

test('slots are reused last-freed-first and columns grow, telling listeners', () => {
  const table = new MessageTable({ initialCapacity: 2 });
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
  const table = new MessageTable({ initialCapacity: 4 });
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

test('journal refs: no chunk until a storage sets one; then kept across growth and cleared on release', () => {
  const t = new MessageTable({ initialCapacity: 2 });
  const refs = (t as unknown as { refs: SparseColumn<unknown> }).refs;
  const a = t.alloc();
  t.setJournalRef(a, undefined); // in-memory storage never sets one: nothing is allocated
  expect(t.journalRef(a)).toBeUndefined();
  expect(refs.chunkCount).toBe(0);
  const ref = { segment: 1, offset: 64 };
  t.setJournalRef(a, ref);
  expect(refs.chunkCount).toBe(1);
  const more = [t.alloc(), t.alloc(), t.alloc()]; // grows past 2
  expect(t.capacity).toBeGreaterThan(2);
  expect(t.journalRef(a)).toBe(ref);
  t.setJournalRef(more[2], 'x');
  t.release(a);
  expect(t.journalRef(a)).toBeUndefined();
  expect(t.journalRef(more[2])).toBe('x');
});
