/**
 * Batches whose entries name their own queue (EnqueueBatchEntry.queue, AckEntry.queue),
 * through real gRPC on EnqueueBatch, EnqueueStream, AckBatch and AckStream: each entry lands
 * in its own queue, in order; an entry naming a missing queue fails alone with NOT_FOUND, a
 * bad name alone with INVALID_ARGUMENT; the request's `queue` is the fallback and is checked
 * for the whole call when set; the batch limit counts every entry; on the WAL the whole batch
 * is one write and one sync. A property: any mix of queues and batches puts every message in
 * its own queue, in order, exactly once.
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { AckStreamRequest, AckStreamResponse, EnqueueBatchEntry, EnqueueResult, EnqueueStreamRequest, EnqueueStreamResponse } from '../../generated/coramq/v1/queue';
import { WalStorage } from '../../src/storage/wal/wal-storage';
import { Duplex } from '../support/duplex';
import { errorCode, rejection, startTestServer, type TestServer } from '../support/server';
import { FaultyFiles, silent, tempDir, walOptions } from '../support/wal';
import { createQueue, dequeue, ms } from '../support/wire';

/** An entry whose payload is its id; `queue` names its queue ('': the request's). */
const entry = (id: string, queue = ''): EnqueueBatchEntry => ({ id, payload: Buffer.from(id), priority: 0, delay: undefined, attributes: {}, queue });

/** The ids of every ready message of `queue`, in delivery order (leased for 60 s). */
async function contents(t: TestServer, queue: string): Promise<string[]> {
  const s = dequeue(t, queue, { waitTime: ms(0), maxInFlight: 10_000, visibilityTimeout: ms(60_000) });
  await s.ended();
  return s.ids;
}

const outcome = (r: EnqueueResult): string => (r.error === undefined ? `${r.id}${r.duplicate ? ' (duplicate)' : ''}` : `${r.error.reason} ${r.error.code}`);

describe('in memory', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer({ config: (c) => (c.limits.maxBatchSize = 10) });
    for (const q of ['a', 'b', 'c']) await createQueue(t, q);
  });
  afterEach(() => t.close());

  test('EnqueueBatch with entries for several queues puts each in its own, in order; a missing queue or a bad name fails only its entry', async () => {
    const res = await t.call('enqueueBatch', {
      queue: '',
      messages: [entry('a1', 'a'), entry('b1', 'b'), entry('x1', 'missing'), entry('a2', 'a'), entry('y1', 'bad name'), entry('c1', 'c'), entry('b2', 'b'), entry('b1', 'b')],
    });
    expect(res.results.map(outcome)).toEqual([
      'a1',
      'b1',
      `QUEUE_NOT_FOUND ${status.NOT_FOUND}`,
      'a2',
      `INVALID_QUEUE_NAME ${status.INVALID_ARGUMENT}`,
      'c1',
      'b2',
      'b1 (duplicate)', // ids are per queue: b1 is live in b
    ]);
    expect(res.results[2].error?.message).toBe("queue 'missing' does not exist");
    expect(res.results[4].error?.message).toMatch(/^messages\[4\]\.queue 'bad name' is invalid/);
    expect(await contents(t, 'a')).toEqual(['a1', 'a2']);
    expect(await contents(t, 'b')).toEqual(['b1', 'b2']);
    expect(await contents(t, 'c')).toEqual(['c1']);
  });

  test("entries that name no queue go to the request's queue; the others to their own", async () => {
    const res = await t.call('enqueueBatch', { queue: 'a', messages: [entry('1'), entry('2', 'b'), entry('3', ''), entry('4', 'a'), entry('5', 'missing')] });
    expect(res.results.map(outcome)).toEqual(['1', '2', '3', '4', `QUEUE_NOT_FOUND ${status.NOT_FOUND}`]);
    expect(await contents(t, 'a')).toEqual(['1', '3', '4']);
    expect(await contents(t, 'b')).toEqual(['2']);
  });

  test("the request's queue, when set, is checked for the whole call even if every entry names its own", async () => {
    const missing = await rejection(t.call('enqueueBatch', { queue: 'missing', messages: [entry('1', 'a')] }));
    expect([missing.code, errorCode(missing), missing.details]).toEqual([status.NOT_FOUND, 'QUEUE_NOT_FOUND', "queue 'missing' does not exist"]);
    const bad = await rejection(t.call('enqueueBatch', { queue: 'bad name', messages: [entry('1', 'a')] }));
    expect([bad.code, errorCode(bad)]).toEqual([status.INVALID_ARGUMENT, 'INVALID_QUEUE_NAME']);
    expect(await contents(t, 'a')).toEqual([]);
  });

  test("an empty request queue with an entry that names none fails the whole call, naming the entry; nothing is enqueued", async () => {
    const err = await rejection(t.call('enqueueBatch', { queue: '', messages: [entry('1', 'a'), entry('2', 'b'), entry('3')] }));
    expect([err.code, errorCode(err)]).toEqual([status.INVALID_ARGUMENT, 'INVALID_QUEUE_NAME']);
    expect(err.details).toBe('queue name is empty and messages[2] names no queue: name the queue on the request, or on every entry');
    expect(await contents(t, 'a')).toEqual([]);
  });

  test('the batch limit counts the entries of every queue together', async () => {
    const messages = Array.from({ length: 11 }, (_, i) => entry(`m${i}`, ['a', 'b', 'c'][i % 3]));
    const err = await rejection(t.call('enqueueBatch', { queue: '', messages }));
    expect([err.code, errorCode(err)]).toEqual([status.INVALID_ARGUMENT, 'BATCH_TOO_LARGE']);
    expect(err.details).toMatch(/messages has 11 entries; the limit is 10/);
    const fits = await t.call('enqueueBatch', { queue: '', messages: messages.slice(0, 10) });
    expect(fits.results.every((r) => r.error === undefined)).toBe(true);
  });

  test("each queue's max_depth holds for its own entries only", async () => {
    await createQueue(t, 'small', { maxDepth: 1 });
    const res = await t.call('enqueueBatch', { queue: '', messages: [entry('1', 'small'), entry('2', 'a'), entry('3', 'small'), entry('4', 'a')] });
    expect(res.results.map(outcome)).toEqual(['1', '2', `QUEUE_FULL ${status.RESOURCE_EXHAUSTED}`, '4']);
  });

  test('EnqueueStream: mixed batches answered in order, per entry; a batch that fails as a whole leaves the stream open', async () => {
    const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
    s.send({ queue: '', messages: [entry('a1', 'a'), entry('x', 'missing'), entry('b1', 'b')] });
    s.send({ queue: '', messages: [entry('a2', 'a'), entry('nameless')] });
    s.send({ queue: 'c', messages: [entry('c1'), entry('b2', 'b'), entry('a3', 'a')] });
    const [first, second, third] = await s.take(3);
    expect(first.results.map(outcome)).toEqual(['a1', `QUEUE_NOT_FOUND ${status.NOT_FOUND}`, 'b1']);
    expect(second).toMatchObject({ results: [], error: { code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME' } });
    expect(third.results.map(outcome)).toEqual(['c1', 'b2', 'a3']);
    s.call.end();
    expect((await s.ended()).code).toBe(status.OK);
    expect(await contents(t, 'a')).toEqual(['a1', 'a3']);
    expect(await contents(t, 'b')).toEqual(['b1', 'b2']);
    expect(await contents(t, 'c')).toEqual(['c1']);
  });

  test('AckBatch and AckStream ack deliveries of several queues in one batch; a missing queue or a stale receipt fails only its entry', async () => {
    await t.call('enqueueBatch', { queue: '', messages: [entry('a1', 'a'), entry('a2', 'a'), entry('b1', 'b'), entry('b2', 'b')] });
    const [a1, a2] = await dequeue(t, 'a', { maxMessages: 2 }).take(2);
    const [b1, b2] = await dequeue(t, 'b', { maxMessages: 2 }).take(2);
    const res = await t.call('ackBatch', {
      queue: '',
      entries: [
        { id: a1.id, receipt: a1.receipt, queue: 'a' },
        { id: b1.id, receipt: b1.receipt, queue: 'b' },
        { id: a2.id, receipt: a2.receipt, queue: 'missing' },
        { id: b2.id, receipt: 'stale', queue: 'b' },
      ],
    });
    expect(res.results.map((r) => [r.id, r.error?.reason ?? 'ok'])).toEqual([
      ['a1', 'ok'],
      ['b1', 'ok'],
      ['a2', 'QUEUE_NOT_FOUND'],
      ['b2', 'STALE_RECEIPT'],
    ]);
    expect(res.results[2].error?.code).toBe(status.NOT_FOUND);
    const s = new Duplex<AckStreamRequest, AckStreamResponse>(t.client.ackStream());
    s.send({ queue: 'b', entries: [{ id: a2.id, receipt: a2.receipt, queue: 'a' }, { id: b2.id, receipt: b2.receipt, queue: '' }] });
    const [answer] = await s.take(1);
    expect(answer.results.map((r) => r.error?.reason ?? 'ok')).toEqual(['ok', 'ok']);
    s.call.end();
    await s.ended();
    for (const name of ['a', 'b']) expect((await t.call('getQueue', { name })).queue?.stats).toMatchObject({ inFlight: 0, ackedTotal: 2 });
  });
});

test('on the WAL, a batch over ten queues is one durable write, is answered after it, and survives a restart', async () => {
  const dir = tempDir();
  const files = new FaultyFiles();
  const open = (): WalStorage => new WalStorage(walOptions(dir, { files, segmentSize: 4 * 1024 * 1024, headroom: 64 * 1024, log: silent }));
  let storage = open();
  let t = await startTestServer({ storage });
  const queues = Array.from({ length: 10 }, (_, i) => `q${i}`);
  for (const q of queues) await createQueue(t, q);
  await storage.maintenanceIdle();
  const [writes, syncs] = [files.writes, files.syncs];
  const writtenTo: (string | undefined)[] = []; // how each written file was opened
  const realWrite = files.write;
  files.write = async (fd, buf, offset, length, position) => {
    writtenTo.push(files.flagsOf.get(fd));
    return realWrite(fd, buf, offset, length, position);
  };
  const messages = Array.from({ length: 100 }, (_, i) => entry(`m${i}`, queues[i % 10]));
  const res = await t.call('enqueueBatch', { queue: '', messages });
  expect(res.results.every((r) => r.error === undefined)).toBe(true);
  // The reply waited for the batch's one write, which is on disk when it returns (write-through).
  expect([files.writes - writes, files.syncs - syncs]).toEqual([1, 0]);
  expect(writtenTo).toEqual(['r+sync']);
  await t.close();

  storage = open();
  t = await startTestServer({ storage });
  try {
    for (const [i, q] of queues.entries()) expect(await contents(t, q)).toEqual(Array.from({ length: 10 }, (_, k) => `m${i + 10 * k}`));
  } finally {
    await t.close();
  }
});

test('property: any mix of queues and batches, on EnqueueBatch and EnqueueStream, puts every message in its own queue, in order, exactly once', async () => {
  const t = await startTestServer({ config: (c) => (c.limits.maxBatchSize = 1000) });
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ queue: fc.integer({ min: 0, max: 5 }), withId: fc.boolean(), named: fc.boolean() }), { minLength: 1, maxLength: 120 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom('EnqueueBatch', 'EnqueueStream'),
        async (messages, sizes, rpc) => {
          // Queues 0-3 exist, 4 and 5 do not; each run has its own names. The first queue
          // is the request's: entries not `named` fall back to it.
          const prefix = `r${++run}-`;
          const name = (q: number): string => `${prefix}${q}`;
          for (let q = 0; q < 4; q++) await createQueue(t, name(q));
          const entries = messages.map((m, i) => {
            const e = entry(m.withId ? `id-${i}` : '', m.named || m.queue !== 0 ? name(m.queue) : '');
            e.payload = Buffer.from(String(i));
            return e;
          });
          const batches: EnqueueBatchEntry[][] = [];
          for (let at = 0, k = 0; at < entries.length; k++) {
            const size = sizes[k % sizes.length];
            batches.push(entries.slice(at, at + size));
            at += size;
          }
          const results: EnqueueResult[] = [];
          if (rpc === 'EnqueueBatch') {
            for (const b of batches) results.push(...(await t.call('enqueueBatch', { queue: name(0), messages: b })).results);
          } else {
            const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
            for (const b of batches) s.send({ queue: name(0), messages: b });
            for (const r of await s.take(batches.length)) results.push(...r.results);
            s.call.end();
            await s.ended();
          }
          expect(results).toHaveLength(messages.length);
          messages.forEach((m, i) => {
            if (m.queue >= 4) expect(results[i].error?.reason).toBe('QUEUE_NOT_FOUND');
            else expect(results[i]).toMatchObject({ duplicate: false, error: undefined, ...(m.withId ? { id: `id-${i}` } : {}) });
          });
          for (let q = 0; q < 4; q++) {
            const want = messages.flatMap((m, i) => (m.queue === q ? [String(i)] : []));
            const s = dequeue(t, name(q), { waitTime: ms(0), maxInFlight: 10_000 });
            await s.ended();
            expect(s.messages.map((m) => Buffer.from(m.payload).toString())).toEqual(want);
          }
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    await t.close();
  }
});
