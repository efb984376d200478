/**
 * HTTP and gRPC on the same queues, with the generated gRPC client: what one protocol
 * enqueues the other receives, acks on either side settle the same delivery, and
 * consumers of both kinds share a queue.
 */
import { AckRequest } from '../../generated/coramq/v1/queue';
import { startHttpTestServer, until, type HttpTestServer } from '../support/http';
import { rejection, errorCode } from '../support/server';
import { createQueue, dequeue, enqueue } from '../support/wire';

let t: HttpTestServer;
beforeEach(async () => {
  t = await startHttpTestServer();
});
afterEach(async () => {
  await t.close();
});

test('HTTP to gRPC: a queue created and an item enqueued over HTTP are received over gRPC, and acked there', async () => {
  await t.http('POST', '/queues', { queueName: 'jobs' });
  const { queue } = await t.call('getQueue', { name: 'jobs' });
  expect(queue?.config?.visibilityTimeout).toEqual({ seconds: 10, nanos: 0 });
  await t.http('POST', '/queues/jobs/enqueue', { item: { id: 'h1', payload: 'héllo ☃', priority: 7 } });

  const [m] = await dequeue(t, 'jobs', { maxMessages: 1 }).take(1);
  expect(m).toMatchObject({ id: 'h1', queue: 'jobs', priority: 7, deliveryCount: 1, attributes: {} });
  expect(Buffer.from(m.payload).equals(Buffer.from('héllo ☃', 'utf8'))).toBe(true);
  await t.call('ack', AckRequest.fromPartial({ queue: 'jobs', id: 'h1', receipt: m.receipt }));
  expect((await t.http('POST', '/queues/jobs/acknowledge', { itemId: 'h1' })).status).toBe(404);
});

test('gRPC to HTTP: an item enqueued over gRPC is dequeued and acked over HTTP', async () => {
  await createQueue(t, 'jobs');
  await enqueue(t, 'jobs', { id: 'g1', payload: Buffer.from('from gRPC'), priority: 3 });
  const reply = await t.http('POST', '/queues/jobs/dequeue');
  expect(reply.json).toEqual({
    status: 'success',
    message: 'Item dequeued successfully',
    item: { id: 'g1', payload: 'from gRPC', priority: 3, visibilityTimeout: expect.any(String) },
  });
  expect((await t.http('POST', '/queues/jobs/acknowledge/g1')).status).toBe(200);
  const { queue } = await t.call('getQueue', { name: 'jobs' });
  expect(queue?.stats).toMatchObject({ ready: 0, inFlight: 0, ackedTotal: 1 });
});

test('gRPC bytes that are not UTF-8 reach HTTP as base64, flagged; attributes come along', async () => {
  await createQueue(t, 'jobs');
  const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
  await enqueue(t, 'jobs', { id: 'bin', payload: bytes, attributes: { tenant: 'acme' } });
  const scan = await t.http('GET', '/queues/jobs/scan');
  expect(scan.json.items).toEqual([{ id: 'bin', payload: bytes.toString('base64'), priority: 0, payloadEncoding: 'base64', attributes: { tenant: 'acme' } }]);
  const reply = await t.http('POST', '/queues/jobs/dequeue');
  expect(reply.json.item).toMatchObject({ id: 'bin', payload: '/wD+gA==', payloadEncoding: 'base64', attributes: { tenant: 'acme' } });
});

test('an HTTP ack by id settles the current gRPC delivery: the gRPC receipt is then not in flight', async () => {
  await createQueue(t, 'jobs');
  await enqueue(t, 'jobs', { id: 'm' });
  const [m] = await dequeue(t, 'jobs', { maxMessages: 1 }).take(1);
  expect((await t.http('POST', '/queues/jobs/acknowledge', { itemId: 'm' })).status).toBe(200);
  const err = await rejection(t.call('ack', AckRequest.fromPartial({ queue: 'jobs', id: 'm', receipt: m.receipt })));
  expect(errorCode(err)).toBe('MESSAGE_NOT_IN_FLIGHT');
});

test('a waiting gRPC stream receives an item enqueued over HTTP; a waiting HTTP long-poll one enqueued over gRPC', async () => {
  await createQueue(t, 'jobs');
  const stream = dequeue(t, 'jobs', { maxMessages: 1 });
  await until(() => t.server.broker.queue('jobs').consumers.size === 1);
  await t.http('POST', '/queues/jobs/enqueue', { item: { id: 'to-grpc', payload: 'x' } });
  expect((await stream.take(1))[0].id).toBe('to-grpc');

  const poll = t.http('POST', '/queues/jobs/dequeue?wait=30');
  await until(() => t.server.broker.queue('jobs').consumers.size === 1);
  await enqueue(t, 'jobs', { id: 'to-http' });
  expect((await poll).json.item.id).toBe('to-http');
});

test('an HTTP long-poll and a gRPC stream waiting on one queue share it round robin', async () => {
  await createQueue(t, 'jobs');
  const stream = dequeue(t, 'jobs', { maxMessages: 1 });
  await until(() => t.server.broker.queue('jobs').consumers.size === 1);
  const poll = t.http('POST', '/queues/jobs/dequeue?wait=30');
  await until(() => t.server.broker.queue('jobs').consumers.size === 2);
  await t.http('POST', '/queues/jobs/enqueue', { item: { id: 'first', payload: 'x' } });
  await t.http('POST', '/queues/jobs/enqueue', { item: { id: 'second', payload: 'x' } });
  expect((await stream.take(1))[0].id).toBe('first');
  expect((await poll).json.item.id).toBe('second');
});

test('a long-poll on a queue deleted over gRPC ends with the 404 for an unknown queue', async () => {
  await createQueue(t, 'jobs');
  const poll = t.http('POST', '/queues/jobs/dequeue?wait=30');
  await until(() => t.server.broker.queue('jobs').consumers.size === 1);
  await t.call('deleteQueue', { name: 'jobs' });
  const reply = await poll;
  expect(reply.status).toBe(404);
  expect(reply.text).toBe('{"status":"error","message":"Queue not found","queueName":"jobs"}');
  expect(reply.headers.get('coramq-error-code')).toBe('QUEUE_NOT_FOUND');
});
