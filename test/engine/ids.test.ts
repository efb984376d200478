import fc from 'fast-check';
import { issueReceipt, parseServerId, RECEIPT_WORDS, receiptMatches, receiptText, ServerIds } from '../../src/ids';

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
  const bits = new Int32Array(20_000 * RECEIPT_WORDS);
  const seen = new Set<string>();
  for (let slot = 0; slot < 20_000; slot++) {
    issueReceipt(bits, slot);
    const r = receiptText(bits, slot);
    expect(r).toMatch(/^[A-Za-z0-9_-]{22}$/);
    seen.add(r);
  }
  expect(seen.size).toBe(20_000);
});

test("a receipt's text is the base64url of its words as 16 big-endian bytes", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: RECEIPT_WORDS, maxLength: RECEIPT_WORDS }), fc.nat(3), (words, slot) => {
      const bits = new Int32Array((slot + 1) * RECEIPT_WORDS);
      bits.set(words, slot * RECEIPT_WORDS);
      const bytes = Buffer.alloc(16);
      words.forEach((w, i) => bytes.writeInt32BE(w, i * 4));
      expect(receiptText(bits, slot)).toBe(bytes.toString('base64url'));
    }),
  );
});

test('a receipt matches its own text and nothing else: not one character changed, not longer or shorter', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bits = new Int32Array(RECEIPT_WORDS);
  fc.assert(
    fc.property(fc.nat(21), fc.nat(ALPHABET.length - 1), (at, pick) => {
      issueReceipt(bits, 0);
      const text = receiptText(bits, 0);
      expect(receiptMatches(bits, 0, text)).toBe(true);
      const other = ALPHABET[pick] === text[at] ? ALPHABET[(pick + 1) % ALPHABET.length] : ALPHABET[pick];
      expect(receiptMatches(bits, 0, text.slice(0, at) + other + text.slice(at + 1))).toBe(false);
      expect(receiptMatches(bits, 0, text + 'A')).toBe(false);
      expect(receiptMatches(bits, 0, text.slice(0, 21))).toBe(false);
    }),
  );
});
