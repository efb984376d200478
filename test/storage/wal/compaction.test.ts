/**
 * Log maintenance: dead segments are deleted oldest first; when dead bytes reach the ratio
 * times the live bytes, live records move forward in small steps and the old segments go;
 * what moved comes back exactly as it was, including across later maintenance.
 */
import { readdirSync } from 'node:fs';
import type { Broker } from '../../../src/engine/broker';
import { engineState, openWal, recordingLogger, take as takeFrom, tempDir } from '../../support/wal';

const SEGMENT = 8 * 1024;
const options = { segmentSize: SEGMENT, headroom: 512, compactStepBytes: 1024 };
const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();

const take = (b: Broker, n: number) => takeFrom(b, 'q', n, 60_000);

/** Enqueues m<from>.. (with `delays`, every seventh is delayed by an hour). */
async function fill(w: Awaited<ReturnType<typeof openWal>>, from: number, count: number, delays = true): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const delayMs = delays && i % 7 === 0 ? 3_600_000 : 0;
    w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.alloc(180, i), priority: 0, delayMs, attributes: i % 5 === 0 ? { n: String(i) } : {} });
    if (i % 10 === 0) await w.storage.maintenanceIdle();
  }
  await w.storage.maintenanceIdle();
}

test('segments whose messages are all gone are deleted, but only from the oldest on', async () => {
  const dir = tempDir();
  const w = await openWal(dir, { ...options, compactRatio: 1000 });
  w.broker.createQueue('q');
  await fill(w, 0, 120, false);
  const before = segments(dir);
  expect(before.length).toBeGreaterThan(3);
  // Ack everything but the very first message: every segment but the first is dead, yet
  // they stay while the first one lives (their tombstones could still matter).
  const all = take(w.broker, 200);
  for (const d of all.slice(1)) w.broker.ack('q', d.id, d.receipt);
  await w.storage.maintenanceIdle();
  expect(segments(dir).slice(0, before.length)).toEqual(before);
  w.broker.ack('q', all[0].id, all[0].receipt);
  await w.storage.maintenanceIdle();
  const after = segments(dir);
  expect(after.length).toBeLessThanOrEqual(2); // the current segment and its spare
  expect(after[0] > before[before.length - 2]).toBe(true);
  expect(w.storage.stats().compaction).toMatchObject({ moved: 0, deleted: expect.any(Number) });
  await w.close();
  const again = await openWal(dir, options);
  expect(again.broker.queue('q').depth).toBe(0);
  await again.close();
});

test('when dead bytes reach twice the live bytes, live records move forward in small steps; everything comes back as it was', async () => {
  const dir = tempDir();
  const { log, lines } = recordingLogger();
  const w = await openWal(dir, { ...options, log });
  w.broker.createQueue('q');
  await fill(w, 0, 200);
  const grown = segments(dir).length;
  // Leave one message in eight, in different states: in flight, nacked (delayed), delayed.
  const delivered = take(w.broker, 1000);
  for (const [i, d] of delivered.entries()) {
    if (i % 8 !== 0) w.broker.ack('q', d.id, d.receipt);
    else if (i % 16 === 0) w.broker.nack('q', d.id, d.receipt, 60_000);
  }
  await w.storage.maintenanceIdle();
  const stats = w.storage.stats();
  expect(stats.compaction.moved).toBeGreaterThan(10);
  expect(stats.compaction.steps).toBeGreaterThan(3);
  expect(stats.compaction.longestStepMs).toBeGreaterThan(0);
  expect(segments(dir).length).toBeLessThan(grown);
  expect(stats.usedBytes - stats.liveBytes).toBeLessThan(2 * stats.liveBytes + 2 * SEGMENT);
  expect(lines.some((l) => l.msg === 'log compacted' && (l.moved as number) > 0)).toBe(true);
  const state = engineState(w.broker);
  await w.close();

  let again = await openWal(dir, options, w.clock.now());
  expect(engineState(again.broker)).toEqual(state);
  // Churn: later maintenance goes over the segments that moved records went into, and loses none of them.
  again.broker.tick();
  for (let round = 0; round < 6; round++) {
    await fill(again, 1000 + 100 * round, 100, false);
    for (const d of take(again.broker, 1000)) if (Number(d.id.slice(1)) >= 1000) again.broker.ack('q', d.id, d.receipt);
    await again.storage.maintenanceIdle();
  }
  expect(again.storage.stats().compaction.deleted).toBeGreaterThan(5);
  const later = engineState(again.broker);
  const clock = again.clock.now();
  await again.close();
  again = await openWal(dir, options, clock);
  expect(engineState(again.broker)).toEqual(later);
  await again.close();
});
