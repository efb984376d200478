/**
 * Behaviours the docs state that a user could trip on (README "Dead letters" and "Fixed
 * limits", docs/ERRORS.md QUEUE_FULL): a dead-letter queue grows past its max_depth, a
 * redrive must strip the reserved dead-letter attributes, message ids are case-sensitive.
 */
import { status } from '@grpc/grpc-js';
import { errorCode, rejection, startTestServer, type TestServer } from '../support/server';
import { createQueue, dequeue, enqueue, ms } from '../support/wire';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

test("dead-letter moves are not refused by the dead-letter queue's max_depth; Enqueue into it is", async () => {
  await createQueue(t, 'dlq', { maxDepth: 1 });
  await createQueue(t, 'jobs', { visibilityTimeout: ms(1000), maxDeliveries: 1, deadLetterQueue: 'dlq' });
  for (const id of ['a', 'b', 'c']) await enqueue(t, 'jobs', { id });
  const r = dequeue(t, 'jobs', { maxMessages: 3 });
  await r.take(3);
  t.clock.advance(1000); // every lease ends on its last delivery: all three move
  const { queue } = await t.call('getQueue', { name: 'dlq' });
  expect(queue?.stats?.ready).toBe(3);
  const full = await rejection(enqueue(t, 'dlq', { id: 'd' }));
  expect(full.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(errorCode(full)).toBe('QUEUE_FULL');
});

test('a dead letter enqueued again as it is, attributes and all, is refused: a redrive strips coramq.* keys', async () => {
  await createQueue(t, 'dlq');
  await createQueue(t, 'jobs', { visibilityTimeout: ms(1000), maxDeliveries: 1, deadLetterQueue: 'dlq' });
  await enqueue(t, 'jobs', { id: 'poison', attributes: { kind: 'email' } });
  await dequeue(t, 'jobs', { maxMessages: 1 }).take(1);
  t.clock.advance(1000);
  const [dead] = await dequeue(t, 'dlq', { maxMessages: 1 }).take(1);
  const asIs = await rejection(enqueue(t, 'jobs', { id: 'poison', payload: dead.payload, attributes: dead.attributes }));
  expect(asIs.code).toBe(status.INVALID_ARGUMENT);
  expect(asIs.details).toMatch(/attribute key 'coramq\.dead-letter\.[a-z-]+' is reserved/);
  const kept = Object.fromEntries(Object.entries(dead.attributes).filter(([k]) => !k.startsWith('coramq.')));
  expect(await enqueue(t, 'jobs', { id: 'poison', payload: dead.payload, attributes: kept })).toEqual({ id: 'poison', duplicate: false });
});

test('message ids are case-sensitive: a server id lower-cased names no message', async () => {
  await createQueue(t, 'q');
  const { id } = await enqueue(t, 'q', { id: '' });
  const [m] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  const lower = await rejection(t.call('ack', { queue: 'q', id: id.toLowerCase(), receipt: m.receipt }));
  expect(lower.code).toBe(status.NOT_FOUND);
  expect(errorCode(lower)).toBe('MESSAGE_NOT_IN_FLIGHT');
  expect(await t.call('ack', { queue: 'q', id, receipt: m.receipt })).toEqual({});
});
