/**
 * The connection reads the responses of the batch calls and of Dequeue with the hand-written
 * decoders, on unary calls and streams alike: a real grpc-js server on port 0 answers each
 * call with bytes no decoder can read, and the error the client gets names the message its
 * hand decoder was reading (grpc-js puts the deserializer's message in the status).
 */
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { QueueServiceService, type AckBatchRequest, type EnqueueBatchRequest } from '../../generated/coramq/v1/queue';
import { ManualClock } from '../../test/support/manual-clock';
import { Connection } from '../src/connection';
import { DequeueDecoder, toDelivery } from '../src/dequeue-decoder';
import type { CoraMQError } from '../src/errors';

/** A request for any batch call. */
const BATCH: EnqueueBatchRequest & AckBatchRequest = { queue: 'q', messages: [], entries: [] };
/** A result whose id runs past the end of the frame. */
const GARBAGE = Buffer.from([10, 5, 10, 9, 65]);
const identity = (b: Buffer): Buffer => b;

let server: Server;
let conn: Connection;

beforeAll(async () => {
  server = new Server();
  const garbage = (method: keyof typeof QueueServiceService) => ({ ...QueueServiceService[method], responseSerialize: identity });
  const unary = (_: ServerUnaryCall<unknown, Buffer>, done: sendUnaryData<Buffer>): void => done(null, GARBAGE);
  const duplex = (call: ServerDuplexStream<unknown, Buffer>): void => void call.on('data', () => call.write(GARBAGE));
  server.addService(
    {
      enqueueBatch: garbage('enqueueBatch'),
      ackBatch: garbage('ackBatch'),
      enqueueStream: garbage('enqueueStream'),
      ackStream: garbage('ackStream'),
      dequeue: garbage('dequeue'),
    },
    {
      enqueueBatch: unary,
      ackBatch: unary,
      enqueueStream: duplex,
      ackStream: duplex,
      dequeue: (call: ServerWritableStream<unknown, Buffer>) => call.write(GARBAGE),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  conn = new Connection(`127.0.0.1:${port}`, {}, new ManualClock());
});

afterAll(async () => {
  conn.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

test.each([
  ['enqueueBatch', 'EnqueueBatchResponse'],
  ['ackBatch', 'AckBatchResponse'],
] as const)('a unary %s response is read by the %s decoder', async (method, message) => {
  const err = await new Promise<CoraMQError | null>((resolve) => conn.unary(method, BATCH, Infinity, undefined, resolve));
  expect(err?.code).toBe(status.INTERNAL);
  expect(err?.message).toContain(`Response message parsing error: ${message}: field runs past the end`);
});

test.each([
  ['enqueueStream', 'EnqueueStreamResponse'],
  ['ackStream', 'AckStreamResponse'],
] as const)('an %s response is read by the %s decoder', async (method, message) => {
  const call = conn.duplex(method);
  const err = await new Promise<Error & { code?: number }>((resolve) => {
    call.on('error', resolve);
    call.on('data', () => {});
    call.write(BATCH);
  });
  expect(err.code).toBe(status.INTERNAL);
  expect(err.message).toContain(`Response message parsing error: ${message}: field runs past the end`);
});

test('a Dequeue response is read by the DequeueDecoder given', async () => {
  const call = conn.dequeue({ queue: 'q', maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: 0 }, Infinity, new DequeueDecoder(toDelivery).decode);
  const err = await new Promise<Error & { code?: number }>((resolve) => {
    call.on('error', resolve);
    call.on('data', () => {});
  });
  expect(err.code).toBe(status.INTERNAL);
  expect(err.message).toContain('Response message parsing error: DequeueResponse: field runs past the end');
});
