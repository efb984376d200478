/** Queue administration through real gRPC: create, get, list, delete, purge, stats. */
import { status } from '@grpc/grpc-js';
import { startTestServer, rejection, errorCode, type TestServer } from '../support/server';
import { createQueue, dequeue, enqueue, ms } from '../support/wire';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

test('CreateQueue applies defaults and echoes the configuration; a repeat is ALREADY_EXISTS', async () => {
  const res = await createQueue(t, 'orders');
  expect(res.queue).toMatchObject({
    name: 'orders',
    config: { visibilityTimeout: { seconds: 10, nanos: 0 }, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 10_000_000 },
    stats: { ready: 0, delayed: 0, inFlight: 0, enqueuedTotal: 0, consumers: 0 },
  });
  expect(Number(res.queue?.createdAt?.seconds)).toBe(Math.floor(t.clock.now() / 1000));
  const err = await rejection(createQueue(t, 'orders'));
  expect(err.code).toBe(status.ALREADY_EXISTS);
  expect(errorCode(err)).toBe('QUEUE_EXISTS');
  expect(err.details).toBe("queue 'orders' already exists");
});

test('a dead-letter queue must exist and may not be the queue itself', async () => {
  const missing = await rejection(createQueue(t, 'q', { deadLetterQueue: 'dlq' }));
  expect(missing.code).toBe(status.NOT_FOUND);
  expect(errorCode(missing)).toBe('DEAD_LETTER_QUEUE_NOT_FOUND');
  const self = await rejection(createQueue(t, 'q', { deadLetterQueue: 'q' }));
  expect(self.code).toBe(status.INVALID_ARGUMENT);
  await createQueue(t, 'dlq');
  await createQueue(t, 'q', { deadLetterQueue: 'dlq', maxDeliveries: 3 });
  const inUse = await rejection(t.call('deleteQueue', { name: 'dlq' }));
  expect(inUse.code).toBe(status.FAILED_PRECONDITION);
  expect(inUse.details).toMatch(/dead-letter queue of queue 'q'/);
});

test('GetQueue reports live stats', async () => {
  await createQueue(t, 'q', { visibilityTimeout: ms(30_000) });
  await enqueue(t, 'q', { id: 'a' });
  t.clock.advance(1500);
  await enqueue(t, 'q', { id: 'b' });
  await enqueue(t, 'q', { id: 'c', delay: ms(60_000) });
  await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  t.clock.advance(250);
  const { queue } = await t.call('getQueue', { name: 'q' });
  expect(queue?.stats).toEqual({
    ready: 1,
    delayed: 1,
    inFlight: 1,
    oldestReadyAge: { seconds: 0, nanos: 250_000_000 },
    enqueuedTotal: 3,
    deliveredTotal: 1,
    ackedTotal: 0,
    nackedTotal: 0,
    expiredTotal: 0,
    deadLetteredTotal: 0,
    consumers: 0,
  });
});

test('ListQueues pages in name order', async () => {
  for (const n of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) await createQueue(t, n);
  const first = await t.call('listQueues', { pageSize: 2, pageToken: '' });
  expect(first.queues.map((q) => q.name)).toEqual(['alpha', 'bravo']);
  const second = await t.call('listQueues', { pageSize: 2, pageToken: first.nextPageToken });
  expect(second.queues.map((q) => q.name)).toEqual(['charlie', 'delta']);
  const third = await t.call('listQueues', { pageSize: 2, pageToken: second.nextPageToken });
  expect(third.queues.map((q) => q.name)).toEqual(['echo']);
  expect(third.nextPageToken).toBe('');
  const all = await t.call('listQueues', { pageSize: 0, pageToken: '' });
  expect(all.queues).toHaveLength(5);
});

test('PurgeQueue drops ready and delayed messages and says how many; in-flight stay', async () => {
  await createQueue(t, 'q');
  await enqueue(t, 'q', { id: 'flying' });
  const [m] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  await enqueue(t, 'q', { id: 'ready' });
  await enqueue(t, 'q', { id: 'later', delay: ms(5000) });
  expect(await t.call('purgeQueue', { name: 'q' })).toEqual({ purged: 2 });
  const { queue } = await t.call('getQueue', { name: 'q' });
  expect(queue?.stats).toMatchObject({ ready: 0, delayed: 0, inFlight: 1 });
  await t.call('ack', { queue: 'q', id: m.id, receipt: m.receipt });
});

test('DeleteQueue removes the queue and ends its streams with NOT_FOUND', async () => {
  await createQueue(t, 'q');
  const r = dequeue(t, 'q');
  await t.call('getQueue', { name: 'q' });
  await t.call('deleteQueue', { name: 'q' });
  const end = await r.ended();
  expect(end.code).toBe(status.NOT_FOUND);
  expect(end.details).toBe("queue 'q' was deleted");
  const gone = await rejection(t.call('getQueue', { name: 'q' }));
  expect(gone.code).toBe(status.NOT_FOUND);
  expect(errorCode(gone)).toBe('QUEUE_NOT_FOUND');
});

test('NOT_FOUND for an unknown queue on every queue RPC', async () => {
  const calls = [
    t.call('getQueue', { name: 'nope' }),
    t.call('deleteQueue', { name: 'nope' }),
    t.call('purgeQueue', { name: 'nope' }),
    enqueue(t, 'nope'),
    t.call('enqueueBatch', { queue: 'nope', messages: [{ id: '', payload: Buffer.from('x'), priority: 0, delay: undefined, attributes: {}, queue: '' }] }),
    t.call('ack', { queue: 'nope', id: 'a', receipt: 'r' }),
    t.call('ackBatch', { queue: 'nope', entries: [{ id: 'a', receipt: 'r', queue: '' }] }),
    t.call('nack', { queue: 'nope', id: 'a', receipt: 'r', delay: undefined }),
    t.call('extendVisibility', { queue: 'nope', id: 'a', receipt: 'r', visibilityTimeout: ms(1000) }),
  ];
  for (const c of calls) {
    const err = await rejection(c);
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe("queue 'nope' does not exist");
  }
  const stream = await dequeue(t, 'nope').ended();
  expect(stream.code).toBe(status.NOT_FOUND);
});
