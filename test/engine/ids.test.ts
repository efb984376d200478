import fc from 'fast-check';
import { newReceipt, parseServerId, ServerIds } from '../../src/ids';

test('a server id names its time, seq and slot, is a ULID, and sorts by (time, seq)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ ms: fc.integer({ min: 0, max: 2 ** 48 - 1 }), seq: fc.integer({ min: 0, max: 2 ** 48 - 1 }), slot: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }), { minLength: 1, maxLength: 30 }),
      (rows) => {
        const ids = new ServerIds();
        for (const r of rows) {
          const id = ids.make(r.ms, r.seq, r.slot);
          expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
          expect({ ...parseServerId(id) }).toEqual({ time: r.ms, seq: r.seq, slot: r.slot });
        }
        const sorted = [...rows].sort((a, b) => a.ms - b.ms || a.seq - b.seq || a.slot - b.slot);
        const made = sorted.map((r) => ids.make(r.ms, r.seq, r.slot));
        expect([...made].sort()).toEqual(made);
      },
    ),
  );
});

test('ids that cannot be server ids are refused', () => {
  for (const id of ['', 'order-1', '01JD8X3ZQK', 'a'.repeat(26), '01JD8X3ZQKU00000000000000!', '01JD8X3ZQK0000000000000000x']) {
    expect(parseServerId(id)).toBeNull();
  }
});

test('receipts are 22 base64url characters and never repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const r = newReceipt();
    expect(r).toMatch(/^[A-Za-z0-9_-]{22}$/);
    seen.add(r);
  }
  expect(seen.size).toBe(20_000);
});
