/**
 * The connection reads the responses of the batch calls and of Dequeue with the hand-written
 * decoders, on unary calls and streams alike: a real grpc-js server on port 0 answers each
 * call with bytes no decoder can read, and the error the client gets names the message its
 * hand decoder was reading (grpc-js puts the deserializer's message in the status). And the
 * HTTP/2 receive window a client asks for, as a bare HTTP/2 server sees it.
 */
import { createServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { QueueServiceService, type AckBatchRequest, type EnqueueBatchRequest } from '../../generated/coramq/v1/queue';
import { ManualClock } from '../../test/support/manual-clock';
import { CoraMQClient } from '../src/client';
import { channelOptionsOf, Connection, DEFAULT_RECEIVE_WINDOW, type ConnectionOptions } from '../src/connection';
import { DequeueDecoder, toDelivery } from '../src/dequeue-decoder';
import { InvalidArgumentError, type CoraMQError } from '../src/errors';
import { eventually } from './support';

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

describe('the receive window', () => {
  /** What a bare HTTP/2 server sees of a client's window once it is connected: its SETTINGS and the connection's window. */
  async function windowsSeen(options: ConnectionOptions): Promise<{ stream: number | undefined; connection: number | undefined }> {
    const h2 = createServer();
    const sessions: ServerHttp2Session[] = [];
    h2.on('session', (s) => sessions.push(s));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const client = new CoraMQClient(`127.0.0.1:${(h2.address() as AddressInfo).port}`, options);
    try {
      await client.ready({ deadline: 10_000 });
      // The connection's WINDOW_UPDATE follows the SETTINGS; wait for it to be read.
      await eventually(async () => (sessions[0]?.state.remoteWindowSize ?? 0) > 65_535, "the client's WINDOW_UPDATE", { pauseMs: 5 });
      const s = sessions[0];
      return { stream: s?.remoteSettings.initialWindowSize, connection: s?.state.remoteWindowSize };
    } finally {
      await client.close();
      for (const s of sessions) s.destroy();
      await new Promise((resolve) => h2.close(resolve));
    }
  }

  test(`is ${DEFAULT_RECEIVE_WINDOW} bytes by default, for the connection and each stream (HTTP/2's own is 65,535)`, async () => {
    expect(await windowsSeen({})).toEqual({ stream: DEFAULT_RECEIVE_WINDOW, connection: DEFAULT_RECEIVE_WINDOW });
  });

  test('receiveWindow sets it; channelOptions still come last', async () => {
    expect(await windowsSeen({ receiveWindow: 1_000_000 })).toEqual({ stream: 1_000_000, connection: 1_000_000 });
    expect(channelOptionsOf({ receiveWindow: 1_000_000, channelOptions: { 'grpc-node.flow_control_window': 70_000 } })['grpc-node.flow_control_window']).toBe(70_000);
  });

  test.each([65_534, 2 ** 31, 1.5e6 + 0.5, NaN])('receiveWindow %p is refused with InvalidArgumentError', (receiveWindow) => {
    expect(() => new CoraMQClient('127.0.0.1:1', { receiveWindow })).toThrow(InvalidArgumentError);
    expect(() => channelOptionsOf({ receiveWindow })).toThrow(/receiveWindow must be an integer number of bytes from 65535 to 2147483647/);
  });
});
