import fc from 'fast-check';
import { PayloadStore } from '../../src/engine/payload-store';

const bytesOf = (seed: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 255));

describe('PayloadStore', () => {
  test('every live payload reads back intact under any mix of puts and drops, compaction included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ put: fc.integer({ min: 0, max: 600 }) }), fc.record({ drop: fc.nat() })), { maxLength: 400 }),
        (ops) => {
          // Tiny slabs and thresholds so that slabs fill, empty and compact constantly.
          const store = new PayloadStore({ slabBytes: 1024, dedicatedBytes: 400, compactRatio: 2, compactMinBytes: 2048 });
          store.grow(512);
          const live = new Map<number, Buffer>();
          const free = Array.from({ length: 512 }, (_, i) => 511 - i);
          let seed = 0;
          for (const op of ops) {
            if ('put' in op) {
              const slot = free.pop();
              if (slot === undefined) continue;
              const bytes = bytesOf(seed++, op.put);
              store.put(slot, bytes);
              live.set(slot, bytes);
            } else if (live.size > 0) {
              const slot = [...live.keys()][op.drop % live.size];
              const held = store.view(slot); // a view handed out earlier stays valid after the drop
              store.drop(slot);
              expect(held.equals(live.get(slot) as Buffer)).toBe(true);
              live.delete(slot);
              free.push(slot);
            }
            for (const [slot, bytes] of live) expect(store.view(slot).equals(bytes)).toBe(true);
            const liveBytes = [...live.values()].reduce((a, b) => a + b.length, 0);
            expect(store.stats.liveBytes).toBe(liveBytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a few long-lived payloads do not pin many slabs: compaction moves them and frees the rest', () => {
    const store = new PayloadStore({ slabBytes: 64 * 1024, compactMinBytes: 256 * 1024 });
    const n = 20_000;
    store.grow(n);
    const payload = Buffer.alloc(256, 1);
    for (let s = 0; s < n; s++) store.put(s, payload);
    // Keep one message in 100 (a dead-letter queue holding poison messages), drop the rest.
    for (let s = 0; s < n; s++) if (s % 100 !== 0) store.drop(s);
    const { heldBytes, liveBytes } = store.stats;
    expect(liveBytes).toBe((n / 100) * 256);
    expect(heldBytes).toBeLessThanOrEqual(Math.max(2 * liveBytes, 256 * 1024) + 64 * 1024);
    for (let s = 0; s < n; s += 100) expect(store.view(s).equals(payload)).toBe(true);
  });

  test('empty and dedicated payloads', () => {
    const store = new PayloadStore({ dedicatedBytes: 1000 });
    store.grow(4);
    store.put(0, Buffer.alloc(0));
    store.put(1, Buffer.alloc(5000, 9));
    expect(store.view(0).length).toBe(0);
    expect(store.view(1).equals(Buffer.alloc(5000, 9))).toBe(true);
    store.drop(1);
    store.drop(0);
    expect(store.stats).toEqual({ heldBytes: 0, liveBytes: 0, slabs: 0 });
  });
});
