/**
 * Group commit and the fsync policies, observed through the file layer: records of one turn
 * of the event loop go out in one write and (with `always`) one fdatasync; what commit()
 * waits for under each policy; a failed write fails the storage.
 */
import { CoraError } from '../../../src/errors';
import type { Broker } from '../../../src/engine/broker';
import { FaultyFiles, openWal, tempDir } from '../../support/wal';

const put = (b: Broker, id: string) => b.enqueue('q', { id, payload: Buffer.alloc(100, 1), priority: 0, delayMs: 0, attributes: {} });

/** A promise with its resolve, to hold a file operation until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function started(fsync: 'always' | 'interval' | 'never', files: FaultyFiles, fsyncIntervalMs = 50) {
  const dir = tempDir();
  const w = await openWal(dir, { files, fsync, fsyncIntervalMs, segmentSize: 1024 * 1024 });
  w.broker.createQueue('q');
  await w.storage.maintenanceIdle();
  files.writes = files.syncs = 0;
  return { ...w, dir };
}

test('records journaled in one turn go out in one write and one fdatasync; commit() is null once they are on disk', async () => {
  const files = new FaultyFiles();
  const w = await started('always', files);
  for (let i = 0; i < 200; i++) put(w.broker, `m${i}`);
  const b = w.broker.queue('q');
  expect(b.depth).toBe(200);
  const committed = w.storage.commit();
  expect(committed).toBe(w.storage.commit()); // one promise for the whole turn
  await committed;
  expect([files.writes, files.syncs]).toEqual([1, 1]);
  expect(w.storage.commit()).toBeNull();
  put(w.broker, 'next');
  await w.storage.commit();
  expect([files.writes, files.syncs]).toEqual([2, 2]);
  await w.close();
});

test('while one batch is on its way to disk, the turns after it gather into the next batch', async () => {
  const files = new FaultyFiles();
  const w = await started('always', files);
  const held = gate();
  const realSync = files.datasync;
  files.datasync = async (fd) => {
    await held.promise;
    return realSync(fd);
  };
  put(w.broker, 'first');
  const first = w.storage.commit() as Promise<void>;
  let firstDone = false;
  void first.then(() => (firstDone = true));
  const later: Promise<void>[] = [];
  for (let turn = 0; turn < 3; turn++) {
    await new Promise((r) => setImmediate(r));
    put(w.broker, `turn${turn}`);
    later.push(w.storage.commit() as Promise<void>);
  }
  expect(firstDone).toBe(false); // no reply before its fdatasync
  expect(files.writes).toBe(1);
  held.open();
  await Promise.all([first, ...later]);
  expect([files.writes, files.syncs]).toEqual([2, 2]);
  await w.close();
});

test('--fsync interval: commit() waits for the write, not the fdatasync, which follows within the interval', async () => {
  const files = new FaultyFiles();
  const synced = gate();
  const realSync = files.datasync;
  const held = gate();
  const w = await started('interval', files, 20);
  files.datasync = async (fd) => {
    synced.open();
    await held.promise;
    return realSync(fd);
  };
  put(w.broker, 'a');
  await w.storage.commit(); // resolves although every fdatasync is held
  expect(files.writes).toBe(1);
  await synced.promise; // the interval timer syncs on its own
  held.open();
  await w.close();
});

test('--fsync never: commit() waits for the write; nothing is fdatasynced until close', async () => {
  const files = new FaultyFiles();
  const w = await started('never', files);
  for (let i = 0; i < 5; i++) {
    put(w.broker, `m${i}`);
    await w.storage.commit();
  }
  expect([files.writes, files.syncs]).toEqual([5, 0]);
  await w.storage.close();
  expect(files.syncs).toBeGreaterThan(0);
  const again = await openWal(w.dir);
  expect(again.broker.queue('q').depth).toBe(5);
  await again.close();
});

test('a failed write fails its commit and every later change with STORAGE_FAILED; what was confirmed before survives', async () => {
  const files = new FaultyFiles();
  const w = await started('always', files);
  put(w.broker, 'confirmed');
  await w.storage.commit();
  files.failWrites = true;
  put(w.broker, 'lost');
  const err = await (w.storage.commit() as Promise<void>).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CoraError);
  expect((err as CoraError).code).toBe('STORAGE_FAILED');
  expect(() => put(w.broker, 'refused')).toThrow(expect.objectContaining({ code: 'STORAGE_FAILED' }));
  await expect(w.storage.commit()).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
  files.failWrites = false;
  await w.storage.close().catch(() => {});
  const again = await openWal(w.dir);
  expect(again.broker.queue('q').messages().map((m) => m.id)).toEqual(['confirmed']);
  await again.close();
});
