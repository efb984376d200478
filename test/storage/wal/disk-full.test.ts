/**
 * A full disk, faked by a file layer that refuses to allocate past a budget (as beanstalkd's
 * tests swap its allocator): new messages and queues are refused with STORAGE_FULL before
 * anything changes; acks, purges and deletions still work (their records were reserved);
 * nothing confirmed is lost; space freed by acks is used again.
 */
import { CoraError } from '../../../src/errors';
import { FaultyFiles, openWal, recordingLogger, take, tempDir } from '../../support/wal';

const SEGMENT = 16 * 1024;

test('a full disk refuses new messages with STORAGE_FULL, loses nothing confirmed, and acks still work', async () => {
  const dir = tempDir();
  const files = new FaultyFiles();
  files.diskBytes = 4 * SEGMENT;
  const { log, lines } = recordingLogger();
  const w = await openWal(dir, { files, log, segmentSize: SEGMENT, headroom: 1024, compactRatio: 1000 });
  const states: string[] = [];
  w.storage.onHealthChange(() => states.push(w.storage.health().state));
  w.broker.createQueue('q');
  const confirmed: string[] = [];
  let refusal: unknown = null;
  for (let i = 0; i < 1000 && refusal === null; i++) {
    try {
      w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.alloc(300, i), priority: 0, delayMs: 0, attributes: {} });
    } catch (err) {
      refusal = err;
      break;
    }
    await w.storage.commit();
    confirmed.push(`m${i}`);
    await w.storage.maintenanceIdle();
  }
  expect(refusal).toBeInstanceOf(CoraError);
  expect(refusal).toMatchObject({ code: 'STORAGE_FULL', message: expect.stringMatching(/the disk is full/) });
  expect(confirmed.length).toBeGreaterThan(100);
  expect(w.broker.queue('q').depth).toBe(confirmed.length); // the refused one changed nothing
  // Smaller messages fit a little longer; then a new queue is refused too.
  for (let i = 0; ; i++) {
    try {
      w.broker.enqueue('q', { id: `s${i}`, payload: Buffer.alloc(0), priority: 0, delayMs: 0, attributes: {} });
      confirmed.push(`s${i}`);
    } catch (err) {
      expect(err).toMatchObject({ code: 'STORAGE_FULL' });
      break;
    }
  }
  await w.storage.commit();
  expect(() => w.broker.createQueue('q'.repeat(80))).toThrow(expect.objectContaining({ code: 'STORAGE_FULL' }));
  expect(w.broker.queueCount).toBe(1);
  expect(lines.some((l) => /disk full: cannot preallocate a log segment/.test(String(l.msg)))).toBe(true);
  expect(w.storage.health()).toEqual({ state: 'disk-full', message: expect.stringMatching(/the disk is full/) });

  // Deliveries and acks of everything: their records fit in what was reserved.
  const got = take(w.broker, 'q', 10_000, 60_000);
  expect(got).toHaveLength(confirmed.length);
  const acked = got.slice(0, confirmed.length - 10);
  for (const d of acked) w.broker.ack('q', d.id, d.receipt);
  await w.storage.commit();
  const unjournaled = w.storage.stats().unjournaled;
  expect(lines.filter((l) => /was not there/.test(String(l.msg)))).toEqual([]);

  // Dead segments go, their space comes back, and new messages are taken again.
  await w.storage.maintenanceIdle();
  w.broker.enqueue('q', { id: 'after', payload: Buffer.alloc(300), priority: 0, delayMs: 0, attributes: {} });
  await w.storage.commit();
  expect(lines.some((l) => /disk space available again/.test(String(l.msg)))).toBe(true);
  expect(w.storage.health()).toEqual({ state: 'ok' });
  expect(states).toEqual(['disk-full', 'ok']);
  await w.close();

  const again = await openWal(dir, { segmentSize: SEGMENT, headroom: 1024 });
  const left = confirmed.filter((id) => !acked.some((d) => d.id === id));
  expect(again.broker.queue('q').messages().map((m) => m.id)).toEqual([...left, 'after']);
  // Deliveries past the headroom were not journaled (logged): such a message comes back with a lower count.
  expect(unjournaled).toBeGreaterThan(0);
  expect(lines.some((l) => /a delivery count or nack delay was not journaled/.test(String(l.msg)))).toBe(true);
  for (const id of left) expect([0, 1]).toContain(again.broker.queue('q').message(id)?.deliveryCount);
  await again.close();
});

test('purging and deleting a queue on a full disk work, and are durable', async () => {
  const dir = tempDir();
  const files = new FaultyFiles();
  files.diskBytes = 3 * SEGMENT;
  const w = await openWal(dir, { files, segmentSize: SEGMENT, headroom: 1024, compactRatio: 1000 });
  w.broker.createQueue('keep');
  w.broker.createQueue('drop');
  w.broker.createQueue('purge');
  let n = 0;
  for (;;) {
    try {
      w.broker.enqueue(['keep', 'drop', 'purge'][n % 3], { id: `m${n}`, payload: Buffer.alloc(200), priority: 0, delayMs: 0, attributes: {} });
    } catch (err) {
      expect(err).toMatchObject({ code: 'STORAGE_FULL' });
      break;
    }
    n++;
    await w.storage.maintenanceIdle();
  }
  await w.storage.commit();
  expect(w.broker.purgeQueue('purge')).toBeGreaterThan(10);
  w.broker.deleteQueue('drop');
  await w.close();
  const again = await openWal(dir, { segmentSize: SEGMENT, headroom: 1024 });
  expect(again.broker.listQueues('', 10).map((q) => [q.name, q.depth])).toEqual([
    ['keep', Math.ceil(n / 3)],
    ['purge', 0],
  ]);
  await again.close();
});
