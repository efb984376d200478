/**
 * Delivery over the HTTP API through a real server: priority order, leases that come back
 * after the visibility timeout, acks by id, long-polls (woken by an enqueue, running out,
 * abandoned by the client), scan, queue listing and health.
 */
import { startHttpTestServer, until, type HttpTestServer } from '../support/http';
import { createQueue, ms } from '../support/wire';

let t: HttpTestServer;
beforeEach(async () => {
  t = await startHttpTestServer();
});
afterEach(async () => {
  await t.close();
});

const enqueue = (queue: string, item: Record<string, unknown>) => t.http('POST', `/queues/${queue}/enqueue`, { item });
const dequeue = (queue: string, query = '') => t.http('POST', `/queues/${queue}/dequeue${query}`);
const queueState = (name: string) => t.server.broker.queue(name);

test('priorities 1,1,3,3,1 for ids 1..5 are dequeued as 3,4,1,2,5', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  for (const [i, priority] of [1, 1, 3, 3, 1].entries()) {
    expect((await enqueue('q', { id: String(i + 1), payload: `p${i + 1}`, priority })).status).toBe(201);
  }
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await dequeue('q')).json.item.id);
  expect(ids).toEqual(['3', '4', '1', '2', '5']);
  expect((await dequeue('q')).status).toBe(404);
});

test('a missing priority means 1: it goes after priority 2 and before priority 0', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  await enqueue('q', { id: 'zero', payload: 'x', priority: 0 });
  const defaulted = await enqueue('q', { id: 'default', payload: 'x' });
  expect(defaulted.json.item).toEqual({ id: 'default', payload: 'x', priority: 1 });
  await enqueue('q', { id: 'two', payload: 'x', priority: 2 });
  const scan = await t.http('GET', '/queues/q/scan');
  expect(scan.json.items.map((i: { id: string }) => i.id)).toEqual(['two', 'default', 'zero']);
});

test('a dequeued item not acked comes back after the visibility timeout, and not before', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  await enqueue('q', { id: '5', payload: 'five' });
  await enqueue('q', { id: '6', payload: 'six' });
  const first = await dequeue('q');
  expect(first.json.item).toMatchObject({ id: '5', payload: 'five', priority: 1 });
  expect(Date.parse(first.json.item.visibilityTimeout)).toBe(t.clock.now() + 10_000);

  t.clock.advance(9_999);
  expect((await t.http('GET', '/queues/q/scan')).json.items.map((i: { id: string }) => i.id)).toEqual(['6']);
  t.clock.advance(1);
  expect((await t.http('GET', '/queues/q/scan')).json.items.map((i: { id: string }) => i.id)).toEqual(['5', '6']);

  const again = await dequeue('q');
  expect(again.json.item).toMatchObject({ id: '5', payload: 'five' });
  expect(Date.parse(again.json.item.visibilityTimeout)).toBe(t.clock.now() + 10_000);
  expect((await t.http('POST', '/queues/q/acknowledge', { itemId: '5' })).status).toBe(200);
  expect((await dequeue('q')).json.item.id).toBe('6');
  expect(queueState('q').totals).toMatchObject({ delivered: 3, acked: 1, expired: 1 });
});

test('the lease follows the queue visibility timeout set over gRPC', async () => {
  await createQueue(t, 'slow', { visibilityTimeout: ms(90_000) });
  await enqueue('slow', { id: 'a', payload: 'x' });
  const reply = await dequeue('slow');
  expect(Date.parse(reply.json.item.visibilityTimeout)).toBe(t.clock.now() + 90_000);
});

test('ack by path is the same as ack by body; an acked item is gone for good', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  await enqueue('q', { id: 'a/b', payload: 'x' });
  await dequeue('q');
  const acked = await t.http('POST', '/queues/q/acknowledge/a%2Fb');
  expect(acked.status).toBe(200);
  expect(acked.text).toBe('{"status":"success","message":"Item acknowledged successfully","itemId":"a/b"}');
  t.clock.advance(60_000);
  expect((await dequeue('q')).status).toBe(404);
  expect(queueState('q').depth).toBe(0);
});

test('an id still in the queue is not enqueued twice: 200 and duplicate: true', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  expect((await enqueue('q', { id: 'x', payload: 'first' })).status).toBe(201);
  const again = await enqueue('q', { id: 'x', payload: 'second' });
  expect(again.status).toBe(200);
  expect(again.json).toMatchObject({ status: 'success', duplicate: true, item: { id: 'x' } });
  expect((await dequeue('q')).json.item.payload).toBe('first');
  expect((await dequeue('q')).status).toBe(404);
});

test('an item without an id gets a ULID, echoed in the reply', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  const reply = await enqueue('q', { payload: 'x', priority: 2 });
  expect(reply.status).toBe(201);
  expect(reply.json.item.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect((await dequeue('q')).json.item.id).toBe(reply.json.item.id);
});

test('payloads are UTF-8 text both ways: emoji, escapes and empty strings arrive as sent', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  const payloads = ['', 'zoë ☃ 🚀', '{"nested": "json"}', 'line\nbreak\ttab\u0000nul'];
  for (const [i, payload] of payloads.entries()) await enqueue('q', { id: `m${i}`, payload });
  for (const payload of payloads) expect((await dequeue('q')).json.item.payload).toBe(payload);
});

test('long-poll: a waiting dequeue gets an item enqueued later, without polling again', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  const waiting = dequeue('q', '?wait=20');
  await until(() => queueState('q').consumers.size === 1);
  await enqueue('q', { id: 'late', payload: 'x' });
  const reply = await waiting;
  expect(reply.status).toBe(200);
  expect(reply.json.item.id).toBe('late');
  expect(queueState('q').consumers.size).toBe(0);
});

test('long-poll: nothing arrives within wait: 404 once the wait is over, not before', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  let settled = false;
  const waiting = dequeue('q', '?wait=2.5').finally(() => (settled = true));
  await until(() => queueState('q').consumers.size === 1);
  t.clock.advance(2_499);
  await t.http('GET', '/health'); // a full round trip: the poll had its chance to answer
  expect(settled).toBe(false);
  t.clock.advance(1);
  const reply = await waiting;
  expect(reply.status).toBe(404);
  expect(reply.text).toBe('{"status":"error","message":"No visible items available in the queue"}');
  expect(queueState('q').consumers.size).toBe(0);
});

test('long-poll: a client that goes away stops waiting; later items are not leased to it', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  const abort = new AbortController();
  const waiting = t.http('POST', '/queues/q/dequeue?wait=60', undefined, {}, abort.signal).catch((e: Error) => e);
  await until(() => queueState('q').consumers.size === 1);
  abort.abort();
  expect(await waiting).toMatchObject({ name: 'AbortError' });
  await until(() => queueState('q').consumers.size === 0);
  await enqueue('q', { id: 'after', payload: 'x' });
  expect(queueState('q').inFlightCount).toBe(0);
  expect((await dequeue('q')).json.item.id).toBe('after');
});

test('scan: up to 100 ready items in delivery order, and nothing changes', async () => {
  await t.http('POST', '/queues', { queueName: 'q' });
  for (let i = 0; i < 120; i++) await enqueue('q', { id: `m${i}`, payload: `p${i}`, priority: i % 3 });
  await dequeue('q'); // m2 (priority 2, first in) is in flight: not ready, not scanned
  const before = { ...queueState('q').totals };
  const scan = await t.http('GET', '/queues/q/scan');
  expect(scan.status).toBe(200);
  expect(scan.json.queueName).toBe('q');
  const expected = Array.from({ length: 120 }, (_, i) => ({ id: `m${i}`, payload: `p${i}`, priority: i % 3 }))
    .filter((m) => m.id !== 'm2')
    .sort((a, b) => b.priority - a.priority || Number(a.id.slice(1)) - Number(b.id.slice(1)))
    .slice(0, 100);
  expect(scan.json.items).toEqual(expected);
  expect(queueState('q').totals).toEqual(before);
  expect((await dequeue('q')).json.item.id).toBe('m5');
});

test('GET /queues lists names with stats, a page at a time; GET /queues/{name} shows config and stats', async () => {
  for (const name of ['c', 'a', 'b']) await t.http('POST', '/queues', { queueName: name });
  await enqueue('a', { id: '1', payload: 'x' });
  await enqueue('a', { id: '2', payload: 'x' });
  await dequeue('a');
  const all = await t.http('GET', '/queues');
  expect(all.json.queues.map((q: { queueName: string }) => q.queueName)).toEqual(['a', 'b', 'c']);
  expect(all.json.queues[0].stats).toMatchObject({ ready: 1, inFlight: 1, enqueuedTotal: 2, deliveredTotal: 1 });
  expect(all.json.next).toBeNull();
  const page1 = await t.http('GET', '/queues?limit=2');
  expect(page1.json.queues.map((q: { queueName: string }) => q.queueName)).toEqual(['a', 'b']);
  expect(page1.json.next).toBe('b');
  const page2 = await t.http('GET', `/queues?limit=2&after=${page1.json.next}`);
  expect(page2.json.queues.map((q: { queueName: string }) => q.queueName)).toEqual(['c']);
  expect(page2.json.next).toBeNull();

  t.clock.advance(1_500);
  const one = await t.http('GET', '/queues/a');
  expect(one.json).toEqual({
    status: 'success',
    queueName: 'a',
    createdAt: new Date(queueState('a').createdAt).toISOString().replace('.000Z', 'Z'),
    config: { visibilityTimeoutSeconds: 10, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 10_000_000 },
    stats: {
      ready: 1,
      delayed: 0,
      inFlight: 1,
      consumers: 0,
      oldestReadyAgeSeconds: 1.5,
      enqueuedTotal: 2,
      deliveredTotal: 1,
      ackedTotal: 0,
      nackedTotal: 0,
      expiredTotal: 0,
      deadLetteredTotal: 0,
    },
  });
});

test('GET /health answers while serving', async () => {
  const reply = await t.http('GET', '/health');
  expect(reply.status).toBe(200);
  expect(reply.json).toEqual({ status: 'success', message: 'CoraMQ is serving', storage: 'memory', storageState: 'ok' });
});
