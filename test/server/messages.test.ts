/** Message operations through real gRPC: enqueue, batches, ack, nack, extend, dead letters. */
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

const entry = (fields: Record<string, unknown> = {}) => ({ id: '', payload: Buffer.from('p'), priority: 0, delay: undefined, attributes: {}, queue: '', ...fields });

test('Enqueue without an id gets a ULID; a live id is answered as a duplicate, not enqueued twice', async () => {
  await createQueue(t, 'q');
  const made = await enqueue(t, 'q', { id: '' });
  expect(made.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(made.duplicate).toBe(false);
  expect(await enqueue(t, 'q', { id: 'order-1' })).toEqual({ id: 'order-1', duplicate: false });
  expect(await enqueue(t, 'q', { id: 'order-1' })).toEqual({ id: 'order-1', duplicate: true });
  const { queue } = await t.call('getQueue', { name: 'q' });
  expect(queue?.stats?.ready).toBe(2);
});

test('payload, priority, attributes and timestamps arrive as sent', async () => {
  await createQueue(t, 'q');
  const payload = Buffer.from([0, 1, 2, 255, 254]);
  await enqueue(t, 'q', { id: 'a', payload, priority: -7, attributes: { tenant: 'acme', 'trace.id': 'x-1' } });
  const [m] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  expect(Buffer.from(m.payload).equals(payload)).toBe(true);
  expect(m).toMatchObject({ id: 'a', queue: 'q', priority: -7, attributes: { tenant: 'acme', 'trace.id': 'x-1' }, deliveryCount: 1 });
  expect(m.enqueuedAt?.seconds).toBe(Math.floor(t.clock.now() / 1000));
  expect(m.receipt).toMatch(/^[A-Za-z0-9_-]{22}$/);
});

test('EnqueueBatch answers per entry, in order; one bad entry fails alone', async () => {
  await createQueue(t, 'q', { maxDepth: 3 });
  const res = await t.call('enqueueBatch', {
    queue: 'q',
    messages: [entry({ id: 'a' }), entry({ id: 'bad id' }), entry({ id: 'a' }), entry({ id: 'b' }), entry({ id: 'c' }), entry({ id: 'd' })],
  });
  expect(res.results.map((r) => [r.id, r.duplicate, r.error?.reason ?? null])).toEqual([
    ['a', false, null],
    ['', false, 'INVALID_ARGUMENT'],
    ['a', true, null],
    ['b', false, null],
    ['c', false, null],
    ['', false, 'QUEUE_FULL'],
  ]);
  expect(res.results[1].error?.code).toBe(status.INVALID_ARGUMENT);
  expect(res.results[5].error?.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(res.results[5].error?.message).toMatch(/max_depth/);
});

test('AckBatch acks each entry on its own', async () => {
  await createQueue(t, 'q');
  for (const id of ['a', 'b']) await enqueue(t, 'q', { id });
  const [a, b] = await dequeue(t, 'q', { maxMessages: 2 }).take(2);
  const res = await t.call('ackBatch', {
    queue: 'q',
    entries: [
      { id: a.id, receipt: a.receipt, queue: '' },
      { id: b.id, receipt: 'wrong', queue: '' },
      { id: 'zzz', receipt: 'r', queue: '' },
      { id: a.id, receipt: a.receipt, queue: '' },
    ],
  });
  expect(res.results.map((r) => r.error?.reason ?? 'ok')).toEqual(['ok', 'STALE_RECEIPT', 'MESSAGE_NOT_IN_FLIGHT', 'MESSAGE_NOT_IN_FLIGHT']);
  expect(res.results[1].error?.code).toBe(status.FAILED_PRECONDITION);
  expect(res.results.map((r) => r.id)).toEqual(['a', 'b', 'zzz', 'a']);
});

test('Ack of a message not in flight is NOT_FOUND with a clear message', async () => {
  await createQueue(t, 'q');
  const err = await rejection(t.call('ack', { queue: 'q', id: 'ghost', receipt: 'r' }));
  expect(err.code).toBe(status.NOT_FOUND);
  expect(errorCode(err)).toBe('MESSAGE_NOT_IN_FLIGHT');
  expect(err.details).toMatch(/message 'ghost' is not in flight in queue 'q'/);
});

test('Nack makes the message ready again after its delay and counts the delivery', async () => {
  await createQueue(t, 'q');
  await enqueue(t, 'q', { id: 'm' });
  const r = dequeue(t, 'q');
  const [first] = await r.take(1);
  expect(await t.call('nack', { queue: 'q', id: 'm', receipt: first.receipt, delay: ms(3000) })).toEqual({ deadLettered: false });
  const { queue } = await t.call('getQueue', { name: 'q' });
  expect(queue?.stats).toMatchObject({ delayed: 1, nackedTotal: 1 });
  t.clock.advance(3000);
  const [, second] = await r.take(2);
  expect(second).toMatchObject({ id: 'm', deliveryCount: 2 });
  r.cancel();
});

test('ExtendVisibility returns the new lease end and holds back redelivery until then', async () => {
  await createQueue(t, 'q', { visibilityTimeout: ms(1000) });
  await enqueue(t, 'q', { id: 'm' });
  const r = dequeue(t, 'q');
  const [m] = await r.take(1);
  t.clock.advance(800);
  const res = await t.call('extendVisibility', { queue: 'q', id: 'm', receipt: m.receipt, visibilityTimeout: ms(5000) });
  const expected = t.clock.now() + 5000;
  expect(res.visibleAt).toEqual({ seconds: Math.floor(expected / 1000), nanos: (expected % 1000) * 1e6 });
  t.clock.advance(4999);
  await t.call('getQueue', { name: 'q' });
  expect(r.messages).toHaveLength(1);
  t.clock.advance(1);
  expect((await r.take(2))[1].deliveryCount).toBe(2);
  r.cancel();
});

test('dead-lettering: after max_deliveries the message moves, with attributes saying where from and why', async () => {
  await createQueue(t, 'dlq');
  await createQueue(t, 'jobs', { visibilityTimeout: ms(1000), maxDeliveries: 2, deadLetterQueue: 'dlq' });
  await enqueue(t, 'jobs', { id: 'poison', priority: 4, attributes: { kind: 'email' } });
  const r = dequeue(t, 'jobs');
  await r.take(1);
  t.clock.advance(1000);
  const [, second] = await r.take(2);
  const nack = await t.call('nack', { queue: 'jobs', id: 'poison', receipt: second.receipt, delay: undefined });
  expect(nack.deadLettered).toBe(true);
  const [dead] = await dequeue(t, 'dlq', { maxMessages: 1 }).take(1);
  expect(dead).toMatchObject({
    id: 'poison',
    priority: 4,
    deliveryCount: 1,
    attributes: {
      kind: 'email',
      'coramq.dead-letter.source-queue': 'jobs',
      'coramq.dead-letter.reason': 'nacked',
      'coramq.dead-letter.delivery-count': '2',
    },
  });
  const { queue } = await t.call('getQueue', { name: 'jobs' });
  expect(queue?.stats).toMatchObject({ ready: 0, inFlight: 0, deadLetteredTotal: 1, expiredTotal: 1, nackedTotal: 1 });
  r.cancel();
});

test('the error trailer names the catalogue code for every failure kind', async () => {
  const err = await rejection(t.call('getQueue', { name: 'bad name!' }));
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  expect(errorCode(err)).toBe('INVALID_QUEUE_NAME');
  expect(err.details).toBe("queue name 'bad name!' is invalid: use 1-80 characters of A-Z, a-z, 0-9, '_' and '-'");
});

test('a receipt that was never issued is STALE_RECEIPT, and the message says it may never have been issued', async () => {
  await createQueue(t, 'q');
  await enqueue(t, 'q', { id: 'm' });
  await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  const err = await rejection(t.call('ack', { queue: 'q', id: 'm', receipt: 'made-up' }));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(errorCode(err)).toBe('STALE_RECEIPT');
  expect(err.details).toMatch(/or the receipt was never issued/);
});
