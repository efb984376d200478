/**
 * Group commit and the fsync policies, observed through the file layer: records of one turn
 * of the event loop go out in one write, durable with `always` (through a write-through
 * file, or where the platform has none, with one fdatasync after it); what commit() waits
 * for under each policy; a failed write fails the storage.
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

async function started(fsync: 'always' | 'interval' | 'never', files: FaultyFiles, fsyncIntervalMs = 50, writesInFlight = 4) {
  const dir = tempDir();
  const w = await openWal(dir, { files, fsync, fsyncIntervalMs, writesInFlight, segmentSize: 1024 * 1024 });
  w.broker.createQueue('q');
  await w.storage.maintenanceIdle();
  files.writes = files.syncs = 0;
  return { ...w, dir };
}

/** A file layer as on a platform without O_DSYNC: `always` writes, then fdatasyncs. */
function withoutWriteThrough(): FaultyFiles {
  const files = new FaultyFiles();
  files.writeThrough = false;
  return files;
}

test('records journaled in one turn go out in one write and one fdatasync; commit() is null once they are on disk', async () => {
  const files = withoutWriteThrough();
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

test('--wal-writes-in-flight 1: while one batch is on its way to disk, the turns after it gather into the next batch', async () => {
  const files = withoutWriteThrough();
  const w = await started('always', files, 50, 1);
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
  let told = 0;
  w.storage.onHealthChange(() => told++);
  files.failWrites = true;
  put(w.broker, 'lost');
  const err = await (w.storage.commit() as Promise<void>).catch((e: unknown) => e);
  expect(told).toBe(1);
  expect(w.storage.health()).toEqual({ state: 'failed', message: (err as CoraError).message });
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

/** A file layer whose fdatasyncs (or writes) each wait until the test lets that one go. */
function heldCalls(files: FaultyFiles, op: 'datasync' | 'write') {
  const held: { open: () => void; fail: (e: Error) => void }[] = [];
  const real = files[op] as (...args: unknown[]) => Promise<void>;
  (files as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
    await new Promise<void>((open, fail) => held.push({ open, fail }));
    return real(...args);
  };
  return held;
}

const nextTurn = () => new Promise((r) => setImmediate(r));
/** Waits (for real file I/O on the threadpool) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(cond()).toBe(true);
}
const settled = (p: Promise<void>) => {
  const s = { done: false, error: null as unknown };
  p.then(() => (s.done = true), (e: unknown) => (s.error = e));
  return s;
};

test('up to --wal-writes-in-flight batches go to disk at once; they are confirmed in order even when a later fdatasync ends first', async () => {
  const files = withoutWriteThrough();
  const w = await started('always', files, 50, 3);
  const syncs = heldCalls(files, 'datasync');
  const commits: Promise<void>[] = [];
  for (const id of ['a', 'b', 'c', 'd']) {
    put(w.broker, id);
    commits.push(w.storage.commit() as Promise<void>);
    await nextTurn();
    await nextTurn();
  }
  const [a, b, c, d] = commits.map(settled);
  await until(() => syncs.length === 3);
  expect(files.writes).toBe(3); // a, b and c overlap; d waits for a place
  syncs[2].open();
  syncs[1].open();
  await nextTurn();
  await nextTurn();
  expect([a.done, b.done, c.done]).toEqual([false, false, false]); // nothing before a is confirmed
  syncs[0].open();
  await Promise.all(commits.slice(0, 3));
  await until(() => syncs.length === 4); // d started once a place was free
  expect(files.writes).toBe(4);
  expect(d.done).toBe(false);
  syncs[3].open();
  await commits[3];
  await w.close();
  const again = await openWal(w.dir);
  expect(again.broker.queue('q').messages().map((m) => m.id)).toEqual(['a', 'b', 'c', 'd']);
  await again.close();
});

test('a failed write rejects the batches after it, even those whose own write and fdatasync succeeded', async () => {
  const files = withoutWriteThrough();
  const w = await started('always', files, 50, 2);
  const writes = heldCalls(files, 'write');
  put(w.broker, 'first');
  const first = settled(w.storage.commit() as Promise<void>);
  await nextTurn();
  await nextTurn();
  put(w.broker, 'second');
  const secondP = w.storage.commit() as Promise<void>;
  const second = settled(secondP);
  await nextTurn();
  await nextTurn();
  expect(writes).toHaveLength(2);
  let secondSynced = false;
  const realSync = files.datasync;
  files.datasync = async (fd) => {
    await realSync(fd);
    secondSynced = true;
  };
  writes[1].open(); // the second is written and synced...
  await until(() => secondSynced);
  await nextTurn();
  expect(second.done).toBe(false); // ...but waits for the first
  writes[0].fail(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
  await expect(secondP).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
  expect(first.error).toMatchObject({ code: 'STORAGE_FAILED' });
  expect(second.done).toBe(false);
  await w.storage.close().catch(() => {});
});

test('a batch that reaches a new segment waits until the batches in flight are done', async () => {
  const files = withoutWriteThrough();
  const dir = tempDir();
  const w = await openWal(dir, { files, fsync: 'always', writesInFlight: 4, segmentSize: 8192, headroom: 256 });
  w.broker.createQueue('q');
  await w.storage.commit();
  const recordWrites: number[] = []; // positions (a new segment's header goes to 0, records after it)
  const realWrite = files.write;
  files.write = async (fd, buf, offset, length, position) => {
    if (position > 0) recordWrites.push(position);
    return realWrite(fd, buf, offset, length, position);
  };
  const syncs = heldCalls(files, 'datasync');
  put(w.broker, 'in-old-segment');
  const old = settled(w.storage.commit() as Promise<void>);
  await nextTurn();
  await nextTurn();
  // Enough records to fill the segment: the turn's batch reaches into the next one.
  for (let i = 0; i < 60; i++) put(w.broker, `fill${i}`);
  const fill = w.storage.commit() as Promise<void>;
  await until(() => syncs.length >= 1);
  await nextTurn();
  await nextTurn();
  expect(recordWrites).toHaveLength(1); // only the first batch is out
  syncs[0].open();
  const release = setInterval(() => syncs.forEach((s) => s.open()), 1);
  await fill;
  clearInterval(release);
  expect(old.done).toBe(true);
  expect(recordWrites).toHaveLength(3); // the first, then the fill batch's two segments
  await w.close();
  const again = await openWal(dir, { segmentSize: 8192, headroom: 256 });
  expect(again.broker.queue('q').depth).toBe(61);
  await again.close();
});

describe('--fsync always on write-through segments (O_DSYNC)', () => {
  test('a batch is one write and no fdatasync; every record goes to a write-through file, in a new segment and after a restart too', async () => {
    const files = new FaultyFiles();
    expect(files.writeThrough).toBe(true); // Linux, where the tests run
    const dir = tempDir();
    const w = await openWal(dir, { files, fsync: 'always', segmentSize: 8192, headroom: 256 });
    w.broker.createQueue('q');
    await w.storage.commit();
    const recordFlags = new Set<string | undefined>(); // how the files records went to were opened
    const realWrite = files.write;
    files.write = async (fd, buf, offset, length, position) => {
      if (position > 0) recordFlags.add(files.flagsOf.get(fd));
      return realWrite(fd, buf, offset, length, position);
    };
    files.writes = files.syncs = 0;
    for (let i = 0; i < 20; i++) put(w.broker, `m${i}`);
    await w.storage.commit();
    expect([files.writes, files.syncs]).toEqual([1, 0]);
    for (let i = 0; i < 60; i++) put(w.broker, `fill${i}`); // more than the rest of the segment
    await w.storage.commit();
    expect(w.storage.stats().segments).toBeGreaterThan(1);
    await w.close();
    const again = await openWal(dir, { files, fsync: 'always', segmentSize: 8192, headroom: 256 });
    put(again.broker, 'after-restart');
    await again.storage.commit();
    expect([...recordFlags]).toEqual(['r+sync']);
    expect(again.broker.queue('q').depth).toBe(81);
    await again.close();
  });

  test('no commit resolves before its write finishes; batches are confirmed in order when a later write ends first', async () => {
    const files = new FaultyFiles();
    const w = await started('always', files, 50, 3);
    let finished = 0; // writes that returned
    const realWrite = files.write;
    files.write = async (fd, buf, offset, length, position) => {
      await realWrite(fd, buf, offset, length, position);
      finished++;
    };
    const writes = heldCalls(files, 'write');
    const commits: Promise<void>[] = [];
    for (const id of ['a', 'b', 'c']) {
      put(w.broker, id);
      commits.push(w.storage.commit() as Promise<void>);
      await nextTurn();
      await nextTurn();
    }
    const [a, b, c] = commits.map(settled);
    expect(writes).toHaveLength(3);
    writes[2].open();
    writes[1].open();
    await until(() => finished === 2);
    await nextTurn();
    await nextTurn();
    expect([a.done, b.done, c.done]).toEqual([false, false, false]); // nothing before a is confirmed
    writes[0].open();
    await Promise.all(commits);
    expect(files.syncs).toBe(0);
    await w.close();
    const again = await openWal(w.dir);
    expect(again.broker.queue('q').messages().map((m) => m.id)).toEqual(['a', 'b', 'c']);
    await again.close();
  });
});
