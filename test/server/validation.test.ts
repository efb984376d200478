/**
 * Bad input on every RPC gets the right status and a message a person understands, and the
 * server keeps serving afterwards.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { unaryRaw } from '../support/raw-calls';
import { startTestServer, rejection, errorCode, type TestServer } from '../support/server';
import { createQueue, dequeue, enqueue, ms } from '../support/wire';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    config: (c) => {
      c.limits.maxPayloadBytes = 1024;
      c.limits.maxBatchSize = 10;
      c.limits.maxAttributes = 2;
      c.limits.maxQueues = 5;
      c.limits.maxInFlight = 500;
      c.limits.maxConsumersPerQueue = 2;
      c.limits.maxRequestBytes = 64 * 1024;
    },
  });
  await createQueue(t, 'q');
});
afterAll(async () => {
  await t.close();
});

const entry = (fields: Record<string, unknown> = {}) => ({ id: '', payload: Buffer.from('p'), priority: 0, delay: undefined, attributes: {}, queue: '', ...fields });

interface Case {
  name: string;
  run: () => Promise<unknown>;
  code: status;
  reason: string;
  message: RegExp;
}

const cases: Case[] = [
  { name: 'CreateQueue: empty name', run: () => createQueue(t, ''), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /queue name is empty/ },
  { name: 'CreateQueue: name with a space', run: () => createQueue(t, 'a b'), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /'a b' is invalid/ },
  { name: 'CreateQueue: 81-character name', run: () => createQueue(t, 'x'.repeat(81)), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /1-80 characters/ },
  { name: 'CreateQueue: negative visibility', run: () => createQueue(t, 'v', { visibilityTimeout: { seconds: -1, nanos: 0 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /config.visibility_timeout is negative/ },
  { name: 'CreateQueue: visibility over 12 h', run: () => createQueue(t, 'v', { visibilityTimeout: ms(12 * 3600 * 1000 + 1) }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /between 1 ms and 12 h/ },
  { name: 'CreateQueue: malformed duration', run: () => createQueue(t, 'v', { visibilityTimeout: { seconds: 1, nanos: -5 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /not a valid duration/ },
  { name: 'CreateQueue: bad dead-letter name', run: () => createQueue(t, 'v', { deadLetterQueue: 'no way' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /config.dead_letter_queue/ },
  { name: 'GetQueue: empty name', run: () => t.call('getQueue', { name: '' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /empty/ },
  { name: 'ListQueues: page too large', run: () => t.call('listQueues', { pageSize: 1001, pageToken: '' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /page_size is 1001/ },
  { name: 'ListQueues: bad token', run: () => t.call('listQueues', { pageSize: 0, pageToken: '%%' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /page_token/ },
  { name: 'DeleteQueue: bad name', run: () => t.call('deleteQueue', { name: '../etc' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /invalid/ },
  { name: 'PurgeQueue: empty name', run: () => t.call('purgeQueue', { name: '' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_QUEUE_NAME', message: /empty/ },
  { name: 'Enqueue: oversized payload', run: () => enqueue(t, 'q', { payload: Buffer.alloc(1025) }), code: status.INVALID_ARGUMENT, reason: 'PAYLOAD_TOO_LARGE', message: /payload is 1025 bytes; the limit is 1024 bytes/ },
  { name: 'Enqueue: id with a space', run: () => enqueue(t, 'q', { id: 'a b' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /message id 'a b' is invalid/ },
  { name: 'Enqueue: id of 129 characters', run: () => enqueue(t, 'q', { id: 'i'.repeat(129) }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /1-128 printable ASCII/ },
  { name: 'Enqueue: negative delay', run: () => enqueue(t, 'q', { delay: { seconds: -5, nanos: 0 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /delay is negative/ },
  { name: 'Enqueue: delay over the limit', run: () => enqueue(t, 'q', { delay: { seconds: 8 * 86400, nanos: 0 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /--max-delay/ },
  { name: 'Enqueue: huge delay', run: () => enqueue(t, 'q', { delay: { seconds: 315576000000, nanos: 0 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /delay/ },
  { name: 'Enqueue: too many attributes', run: () => enqueue(t, 'q', { attributes: { a: '1', b: '2', c: '3' } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /3 attributes; the limit is 2/ },
  { name: 'Enqueue: reserved attribute', run: () => enqueue(t, 'q', { attributes: { 'coramq.x': '1' } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /reserved/ },
  { name: 'Enqueue: bad attribute key', run: () => enqueue(t, 'q', { attributes: { 'a key': '1' } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /attribute key 'a key' is invalid/ },
  { name: 'Enqueue: attribute value too long', run: () => enqueue(t, 'q', { attributes: { k: 'v'.repeat(1025) } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /attribute 'k' is 1025 bytes/ },
  { name: 'EnqueueBatch: empty', run: () => t.call('enqueueBatch', { queue: 'q', messages: [] }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /messages has no entries/ },
  { name: 'EnqueueBatch: too many entries', run: () => t.call('enqueueBatch', { queue: 'q', messages: Array.from({ length: 11 }, () => entry()) }), code: status.INVALID_ARGUMENT, reason: 'BATCH_TOO_LARGE', message: /11 entries; the limit is 10/ },
  { name: 'EnqueueBatch: request over the request size limit', run: () => t.call('enqueueBatch', { queue: 'q', messages: Array.from({ length: 5 }, () => entry({ payload: Buffer.alloc(20_000) })) }), code: status.RESOURCE_EXHAUSTED, reason: '', message: /larger than max/ },
  { name: 'Ack: empty receipt', run: () => t.call('ack', { queue: 'q', id: 'a', receipt: '' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /receipt is empty/ },
  { name: 'Ack: empty id', run: () => t.call('ack', { queue: 'q', id: '', receipt: 'r' }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /message id is empty/ },
  { name: 'AckBatch: empty', run: () => t.call('ackBatch', { queue: 'q', entries: [] }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /entries has no entries/ },
  { name: 'AckBatch: too many', run: () => t.call('ackBatch', { queue: 'q', entries: Array.from({ length: 11 }, () => ({ id: 'a', receipt: 'r', queue: '' })) }), code: status.INVALID_ARGUMENT, reason: 'BATCH_TOO_LARGE', message: /limit is 10/ },
  { name: 'Nack: negative delay', run: () => t.call('nack', { queue: 'q', id: 'a', receipt: 'r', delay: { seconds: 0, nanos: -1 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /delay is negative/ },
  { name: 'Nack: not in flight', run: () => t.call('nack', { queue: 'q', id: 'a', receipt: 'r', delay: undefined }), code: status.NOT_FOUND, reason: 'MESSAGE_NOT_IN_FLIGHT', message: /not in flight/ },
  { name: 'ExtendVisibility: missing timeout', run: () => t.call('extendVisibility', { queue: 'q', id: 'a', receipt: 'r', visibilityTimeout: undefined }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /visibility_timeout is required/ },
  { name: 'ExtendVisibility: zero timeout', run: () => t.call('extendVisibility', { queue: 'q', id: 'a', receipt: 'r', visibilityTimeout: ms(0) }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /between 1 ms and 12 h/ },
  { name: 'ExtendVisibility: over 12 h', run: () => t.call('extendVisibility', { queue: 'q', id: 'a', receipt: 'r', visibilityTimeout: { seconds: 43201, nanos: 0 } }), code: status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: /12 h/ },
];

test.each(cases)('$name', async (c) => {
  const err = await rejection(c.run());
  expect(err.code).toBe(c.code);
  if (c.reason !== '') expect(errorCode(err)).toBe(c.reason);
  expect(err.details).toMatch(c.message);
});

const streamCases: Case[] = [
  { name: 'Dequeue: bad queue name', run: () => dequeue(t, 'bad name').ended(), code: status.INVALID_ARGUMENT, reason: '', message: /invalid/ },
  { name: 'Dequeue: max_in_flight over the limit', run: () => dequeue(t, 'q', { maxInFlight: 501 }).ended(), code: status.INVALID_ARGUMENT, reason: '', message: /max_in_flight is 501; the limit is 500/ },
  { name: 'Dequeue: negative wait', run: () => dequeue(t, 'q', { waitTime: { seconds: -1, nanos: 0 } }).ended(), code: status.INVALID_ARGUMENT, reason: '', message: /wait_time is negative/ },
  { name: 'Dequeue: wait over 12 h', run: () => dequeue(t, 'q', { waitTime: { seconds: 50_000, nanos: 0 } }).ended(), code: status.INVALID_ARGUMENT, reason: '', message: /wait_time is longer than 12 h/ },
  { name: 'Dequeue: zero visibility', run: () => dequeue(t, 'q', { visibilityTimeout: ms(0) }).ended(), code: status.INVALID_ARGUMENT, reason: '', message: /visibility_timeout is 0 ms/ },
];

test.each(streamCases)('$name', async (c) => {
  const s = (await c.run()) as { code: status; details: string };
  expect(s.code).toBe(c.code);
  expect(s.details).toMatch(c.message);
});

test('too many streams on a queue is RESOURCE_EXHAUSTED', async () => {
  const a = dequeue(t, 'q');
  const b = dequeue(t, 'q');
  await t.call('getQueue', { name: 'q' });
  const c = await dequeue(t, 'q').ended();
  expect(c.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(c.details).toMatch(/2 open streams, the limit per queue/);
  a.cancel();
  b.cancel();
});

test('too many queues is RESOURCE_EXHAUSTED', async () => {
  for (let i = 0; i < 4; i++) await createQueue(t, `extra${i}`);
  const err = await rejection(createQueue(t, 'one-too-many'));
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(errorCode(err)).toBe('TOO_MANY_QUEUES');
  for (let i = 0; i < 4; i++) await t.call('deleteQueue', { name: `extra${i}` });
});

test('a request that is not valid protobuf is refused, and the server keeps serving', async () => {
  const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]); // a length far past the end
  const err = (await unaryRaw(t, 'Enqueue', garbage)) as ServiceError;
  expect(err.code).toBe(status.INVALID_ARGUMENT); // UNDECODABLE_REQUEST (undecodable-request.ts), not grpc-js's INTERNAL
  expect(err.details).toMatch(/^the request could not be decoded as coramq\.v1\.EnqueueRequest: the bytes end in the middle of a field .*\(in queue\)$/);
  const huge = new BinaryWriter().uint32(10).string('q').uint32(42).fork().uint32(8).int64('9223372036854775807').join().finish();
  const err2 = (await unaryRaw(t, 'Enqueue', huge)) as ServiceError;
  expect(err2.code).toBe(status.INVALID_ARGUMENT);
  expect(err2.details).toMatch(/delay\.seconds is 9223372036854775807, more than 2\^53-1/);
  expect((await enqueue(t, 'q', { id: 'still-serving' })).id).toBe('still-serving');
});
