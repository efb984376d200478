/**
 * EnqueueStream and AckStream through real gRPC: batches answered in order, per-batch errors
 * that leave the stream open, answers only once durable (and still in order), auth, the
 * client's half-close and the server's shutdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import type { EnqueueStreamRequest, EnqueueStreamResponse } from '../../generated/coramq/v1/queue';
import { NULL_JOURNAL } from '../../src/storage/memory-storage';
import { Duplex } from '../support/duplex';
import { startTestServer, type TestServer } from '../support/server';
import { createQueue, dequeue } from '../support/wire';

const entry = (id: string) => ({ id, payload: Buffer.from(id), priority: 0, delay: undefined, attributes: {}, queue: '' });

describe('on in-memory storage', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
    await createQueue(t, 'q');
  });
  afterEach(() => t.close());

  test('EnqueueStream answers every batch in order, per entry; a batch that fails as a whole gets its error and the stream goes on', async () => {
    const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
    s.send({ queue: 'q', messages: [entry('a'), entry('b')] });
    s.send({ queue: 'nope', messages: [entry('x')] });
    s.send({ queue: 'bad name', messages: [entry('x')] });
    s.send({ queue: 'q', messages: [] });
    s.send({ queue: 'q', messages: [entry('a'), entry('bad id'), entry('c')] });
    const r = await s.take(5);
    expect(r[0]).toEqual({ results: [{ id: 'a', duplicate: false, error: undefined }, { id: 'b', duplicate: false, error: undefined }], error: undefined });
    expect(r.slice(1, 4).map((x) => [x.results.length, x.error?.reason, x.error?.code])).toEqual([
      [0, 'QUEUE_NOT_FOUND', status.NOT_FOUND],
      [0, 'INVALID_QUEUE_NAME', status.INVALID_ARGUMENT],
      [0, 'INVALID_ARGUMENT', status.INVALID_ARGUMENT],
    ]);
    expect(r[4].results.map((x) => [x.id, x.duplicate, x.error?.reason ?? null])).toEqual([
      ['a', true, null],
      ['', false, 'INVALID_ARGUMENT'],
      ['c', false, null],
    ]);
    s.call.end();
    expect((await s.ended()).code).toBe(status.OK);
    const { queue } = await t.call('getQueue', { name: 'q' });
    expect(queue?.stats?.ready).toBe(3);
  });

  test('AckStream acks each entry; a stale receipt fails only its entry', async () => {
    for (const id of ['a', 'b']) await t.call('enqueue', { ...entry(id), queue: 'q' });
    const [a, b] = await dequeue(t, 'q', { maxMessages: 2 }).take(2);
    const s = new Duplex(t.client.ackStream());
    s.send({ queue: 'q', entries: [{ id: a.id, receipt: a.receipt, queue: '' }, { id: b.id, receipt: 'stale', queue: '' }] });
    s.send({ queue: 'q', entries: [{ id: b.id, receipt: b.receipt, queue: '' }] });
    const r = await s.take(2);
    expect(r[0].results.map((x) => x.error?.reason ?? 'ok')).toEqual(['ok', 'STALE_RECEIPT']);
    expect(r[1].results.map((x) => x.error?.reason ?? 'ok')).toEqual(['ok']);
    s.call.end();
    await s.ended();
    const { queue } = await t.call('getQueue', { name: 'q' });
    expect(queue?.stats).toMatchObject({ inFlight: 0, ackedTotal: 2 });
  });

  test('at shutdown a stream answers what it handled and ends with UNAVAILABLE', async () => {
    const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
    s.send({ queue: 'q', messages: [entry('a')] });
    await s.take(1);
    const closing = t.server.close();
    const end = await s.ended();
    expect(end.code).toBe(status.UNAVAILABLE);
    expect(end.details).toMatch(/shutting down/);
    await closing;
  });
});

test('without the token a stream is UNAUTHENTICATED', async () => {
  const t = await startTestServer({ config: (c) => (c.authToken = 'tok') });
  try {
    const s = new Duplex(t.client.enqueueStream(new Metadata()));
    s.send({ queue: 'q', messages: [entry('a')] });
    expect((await s.ended()).code).toBe(status.UNAUTHENTICATED);
  } finally {
    await t.close();
  }
});

test('on the WAL, a stream of batches is answered in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coramq-streams-'));
  const t = await startTestServer({
    config: (c) => {
      c.storage = 'wal';
      c.dataDir = dir;
      c.wal.segmentSize = 4 * 1024 * 1024;
      c.limits.maxQueues = 100;
    },
  });
  try {
    await createQueue(t, 'q');
    const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
    for (let i = 0; i < 20; i++) {
      s.send({ queue: 'q', messages: [entry(`m${i}`)] });
      s.send({ queue: 'q', messages: [entry(`m${i}`), entry('bad id')] });
    }
    const r = await s.take(40);
    for (let i = 0; i < 20; i++) {
      expect(r[2 * i].results[0]).toMatchObject({ id: `m${i}`, duplicate: false });
      expect(r[2 * i + 1].results[0]).toMatchObject({ id: `m${i}`, duplicate: true });
    }
    s.call.end();
    await s.ended();
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('answers wait for their commit and leave in request order, whatever order commits finish in', async () => {
  // A storage whose commits the test finishes by hand, in reverse order.
  const commits: (() => void)[] = [];
  const storage = {
    kind: 'scripted',
    journal: NULL_JOURNAL,
    open: async () => {},
    close: async () => {},
    commit: (): Promise<void> => new Promise<void>((resolve) => commits.push(resolve)),
    health: () => ({ state: 'ok' as const }),
    onHealthChange: () => {},
  };
  const t = await startTestServer({ storage });
  try {
    const created = t.call('createQueue', { name: 'q', config: undefined });
    await until(() => commits.length === 1);
    commits.shift()?.();
    await created;
    const s = new Duplex<EnqueueStreamRequest, EnqueueStreamResponse>(t.client.enqueueStream());
    for (const id of ['a', 'b', 'c']) s.send({ queue: 'q', messages: [entry(id)] });
    await until(() => commits.length === 3);
    commits[2]();
    commits[1]();
    // A unary round trip (its own commit finished at once): nothing was answered meanwhile.
    const read = t.call('getQueue', { name: 'q' });
    await until(() => commits.length === 4);
    commits[3]();
    await read;
    expect(s.responses).toHaveLength(0);
    commits[0]();
    const r = await s.take(3);
    expect(r.map((x) => x.results[0].id)).toEqual(['a', 'b', 'c']);
    s.call.end();
    await s.ended();
  } finally {
    await t.close();
  }
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}
