/**
 * Requests the server cannot decode get INVALID_ARGUMENT with the UNDECODABLE_REQUEST code and
 * a message that names the problem (and the field, where there is one), on every call shape:
 * unary, Dequeue, the bidirectional batch streams, and reflection. Raw bytes are sent with
 * grpc-js's generic client, as a client in another language would send them.
 */
import fc from 'fast-check';
import pino from 'pino';
import { Metadata, status, type Client, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { service as healthService } from 'grpc-health-check';
import { CreateQueueRequest, DequeueRequest, EnqueueStreamRequest, EnqueueStreamResponse, QueueServiceService } from '../../generated/coramq/v1/queue';
import { undecodable, UndecodableRequest, withTolerantDecoders, withTolerantHandlers } from '../../src/server/undecodable-request';
import { Duplex } from '../support/duplex';
import { damaged, SECONDS_NANOS, STRING_MAP_ENTRY, wireMessage, type MessageSchema } from '../support/proto-fuzz';
import { identity, QUEUE_SERVICE, rawClient, serverStreamRaw, unaryRaw as unaryRawOn, unaryRawAt } from '../support/raw-calls';
import { startTestServer, type TestServer } from '../support/server';
import { createQueue } from '../support/wire';

const SERVICE = QUEUE_SERVICE;
const MAX_UINT64 = 2n ** 64n - 1n;

/** A CreateQueueRequest whose config.max_depth (uint64, field 4) is `maxDepth`. */
const createQueueBytes = (name: string, maxDepth: bigint): Buffer => {
  const w = new BinaryWriter();
  w.tag(1, 2).string(name);
  w.tag(2, 2).fork().tag(4, 0).uint64(maxDepth).join();
  return Buffer.from(w.finish());
};

/** A Duration message's bytes with `seconds`. */
const duration = (w: BinaryWriter, field: number, seconds: bigint): BinaryWriter => w.tag(field, 2).fork().tag(1, 0).int64(seconds).join();

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await createQueue(t, 'q');
});
afterAll(async () => {
  await t.close();
});

const raw = (): Client => rawClient(t);
const unaryRaw = (rpc: string, bytes: Buffer): Promise<ServiceError | null> => unaryRawOn(t, rpc, bytes);

const expectUndecodable = (s: StatusObject | ServiceError | null, details: RegExp): void => {
  expect(s?.code).toBe(status.INVALID_ARGUMENT);
  expect(s?.metadata?.get('coramq-error-code')).toEqual(['UNDECODABLE_REQUEST']);
  expect(s?.details).toMatch(details);
};

describe('unary calls', () => {
  test('CreateQueue with max_depth = 2^64-1 (a Go client\'s "no limit") names the field and the limit', async () => {
    const err = await unaryRaw('CreateQueue', createQueueBytes('big', MAX_UINT64));
    expectUndecodable(
      err,
      /^the request could not be decoded as coramq\.v1\.CreateQueueRequest: config\.max_depth is 18446744073709551615, more than 2\^53-1 \(9007199254740991\), the largest 64-bit value this server takes$/,
    );
    await expect(t.call('getQueue', { name: 'big' })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  test('(control) max_depth = 2^53-1 is decoded, and the queue is created', async () => {
    expect(await unaryRaw('CreateQueue', createQueueBytes('largest', BigInt(Number.MAX_SAFE_INTEGER)))).toBeNull();
    expect((await t.call('getQueue', { name: 'largest' })).queue?.config?.maxDepth).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('Enqueue with a delay of 2^60 seconds names delay.seconds', async () => {
    const w = new BinaryWriter().tag(1, 2).string('q');
    const err = await unaryRaw('Enqueue', Buffer.from(duration(w, 5, 2n ** 60n).finish()));
    expectUndecodable(err, /^the request could not be decoded as coramq\.v1\.EnqueueRequest: delay\.seconds is 1152921504606846976, more than 2\^53-1/);
  });

  test('a negative 64-bit value beyond -(2^53-1) is refused too', async () => {
    const w = new BinaryWriter().tag(1, 2).string('q');
    const err = await unaryRaw('Enqueue', Buffer.from(duration(w, 5, -(2n ** 60n)).finish()));
    expectUndecodable(err, /delay\.seconds is -1152921504606846976, less than -\(2\^53-1\)/);
  });

  test.each([
    ['a truncated varint', Buffer.from([0x10, 0x80]), /the bytes end in the middle of a field/],
    ['a string running past the end', Buffer.from([0x0a, 0x09, 0x61]), /the bytes end in the middle of a field .*\(in name\)/],
    ['wire type 7', Buffer.from([0x0f]), /a field has wire type 7, which protobuf does not define/],
    ['a length varint of 11 bytes', Buffer.from([0x0a, ...Array<number>(10).fill(0xff), 0x01]), /a varint runs longer than 10 bytes/],
  ])('GetQueue with %s', async (_, bytes, details) => {
    expectUndecodable(await unaryRaw('GetQueue', bytes), new RegExp(`^the request could not be decoded as coramq\\.v1\\.GetQueueRequest: .*${details.source}`));
  });

  test('an unauthenticated caller is told UNAUTHENTICATED, not what is wrong with its bytes', async () => {
    const secured = await startTestServer({ config: (c) => (c.authToken = 'secret') });
    try {
      const err = await unaryRawOn(secured, 'GetQueue', Buffer.from([0x0f]));
      expect(err?.code).toBe(status.UNAUTHENTICATED);
    } finally {
      await secured.close();
    }
  });
});

test('Dequeue with a wait_time of 2^60 seconds ends with INVALID_ARGUMENT before delivering anything', async () => {
  const w = new BinaryWriter().tag(1, 2).string('q');
  const { received, end } = await serverStreamRaw(t, `${SERVICE}/Dequeue`, duration(w, 3, 2n ** 60n).finish());
  expectUndecodable(end, /^the request could not be decoded as coramq\.v1\.DequeueRequest: wait_time\.seconds is 1152921504606846976, more than 2\^53-1/);
  expect(received).toEqual([]);
});

test('EnqueueStream: an undecodable request is answered with UNDECODABLE_REQUEST; those before and after it are enqueued', async () => {
  await createQueue(t, 'stream');
  const s = new Duplex<Buffer, EnqueueStreamResponse>(raw().makeBidiStreamRequest(`${SERVICE}/EnqueueStream`, identity, EnqueueStreamResponse.decode, new Metadata()));
  const good = (id: string): Buffer =>
    Buffer.from(EnqueueStreamRequest.encode({ queue: 'stream', messages: [{ id, payload: Buffer.from(id), priority: 0, delay: undefined, attributes: {}, queue: '' }] }).finish());
  // messages[1].delay.seconds = 2^60; messages[0] is fine, but the request is refused whole.
  const w = new BinaryWriter().tag(1, 2).string('stream');
  w.tag(2, 2).fork().tag(1, 2).string('in-bad-0').join();
  w.tag(2, 2).fork().tag(1, 2).string('in-bad-1');
  duration(w, 4, 2n ** 60n).join();
  s.send(good('before'));
  s.send(Buffer.from(w.finish()));
  s.send(good('after'));
  const [before, refused, after] = await s.take(3);
  expect(before.results).toEqual([{ id: 'before', duplicate: false, error: undefined }]);
  expect(refused).toEqual({
    results: [],
    error: {
      code: status.INVALID_ARGUMENT,
      reason: 'UNDECODABLE_REQUEST',
      message: expect.stringMatching(/^the request could not be decoded as coramq\.v1\.EnqueueStreamRequest: messages\[1\]\.delay\.seconds is 1152921504606846976, more than 2\^53-1/),
    },
  });
  expect(after.results).toEqual([{ id: 'after', duplicate: false, error: undefined }]);
  s.call.end();
  expect((await s.ended()).code).toBe(status.OK);
  expect((await t.call('getQueue', { name: 'stream' })).queue?.stats?.ready).toBe(2);
});

test('reflection: an undecodable request is answered with an INVALID_ARGUMENT error_response, and the stream goes on', async () => {
  const s = new Duplex<Buffer, Buffer>(raw().makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', identity, identity, new Metadata()));
  s.send(Buffer.from([0x0f]));
  s.send(Buffer.from(new BinaryWriter().tag(7, 2).string('').finish())); // list_services
  const [refused, listed] = await s.take(2);
  // ServerReflectionResponse.error_response = 7 {error_code = 1, error_message = 2}
  expect(refused.toString('latin1')).toMatch(/could not be decoded as grpc\.reflection\.v1\.ServerReflectionRequest: a field has wire type 7/);
  expect(refused[0]).toBe((7 << 3) | 2);
  expect(listed.toString('latin1')).toContain('coramq.v1.QueueService');
  s.call.end();
  expect((await s.ended()).code).toBe(status.OK);
});

describe('grpc.health.v1.Health (grpc-health-check, decoded by protobufjs)', () => {
  const HEALTH = '/grpc.health.v1.Health';
  const REQUEST = /^the request could not be decoded as grpc\.health\.v1\.HealthCheckRequest: /;
  /** HealthCheckRequest.service (field 1, a string) sent as a 64-bit value: protobufjs reads it as a string and runs off the end. */
  const SERVICE_AS_FIXED64 = Buffer.from([(1 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8]);
  const SERVICE_IS_NOT_A_STRING = /service has wire type 1 \(64-bit\); its type, string, takes wire type 2 \(length-delimited\)$/;

  test('Check with a truncated field', async () => {
    const err = await unaryRawAt(t, `${HEALTH}/Check`, Buffer.from([0x10, 0x80])); // field 2, a varint cut short
    expectUndecodable(err, new RegExp(`${REQUEST.source}the bytes end in the middle of a field`));
  });

  test('Check with service of the wrong wire type names service', async () => {
    expectUndecodable(await unaryRawAt(t, `${HEALTH}/Check`, SERVICE_AS_FIXED64), new RegExp(REQUEST.source + SERVICE_IS_NOT_A_STRING.source));
  });

  test('Watch with service of the wrong wire type ends its stream with INVALID_ARGUMENT before sending a status', async () => {
    const { received, end } = await serverStreamRaw(t, `${HEALTH}/Watch`, SERVICE_AS_FIXED64);
    expectUndecodable(end, new RegExp(REQUEST.source + SERVICE_IS_NOT_A_STRING.source));
    expect(received).toEqual([]);
  });

  test('Watch with wire type 7', async () => {
    const { received, end } = await serverStreamRaw(t, `${HEALTH}/Watch`, Buffer.from([0x0f]));
    expectUndecodable(end, new RegExp(`${REQUEST.source}a field has wire type 7, which protobuf does not define .*\\(in service\\)$`));
    expect(received).toEqual([]);
  });

  test('(control) a well-formed Check is answered as before', async () => {
    const request = Buffer.from(new BinaryWriter().tag(1, 2).string('coramq.v1.QueueService').finish());
    expect(await unaryRawAt(t, `${HEALTH}/Check`, request)).toBeNull();
    expect((await unaryRawAt(t, `${HEALTH}/Check`, Buffer.from(new BinaryWriter().tag(1, 2).string('nope').finish())))?.code).toBe(status.NOT_FOUND);
  });
});

describe('the diagnosis reads as the decoders read', () => {
  const ENQUEUE_ENTRY: MessageSchema = { 1: 'string', 2: 'bytes', 3: 'int32', 4: SECONDS_NANOS, 5: STRING_MAP_ENTRY, 6: 'string' };
  const ENQUEUE_REQUEST: MessageSchema = { 1: 'string', 2: ENQUEUE_ENTRY };
  const CREATE_QUEUE: MessageSchema = { 1: 'string', 2: { 1: SECONDS_NANOS, 2: 'uint32', 3: 'string', 4: 'int64' } };
  const cases = [
    { rpc: 'EnqueueStream', decode: EnqueueStreamRequest.decode, schema: ENQUEUE_REQUEST },
    { rpc: 'CreateQueue', decode: CreateQueueRequest.decode, schema: CREATE_QUEUE },
    { rpc: 'Dequeue', decode: DequeueRequest.decode, schema: { 1: 'string', 2: 'uint32', 3: SECONDS_NANOS, 4: SECONDS_NANOS, 5: 'uint32' } as MessageSchema },
  ];

  test.each(cases)('$rpc: wherever the generated decoder throws, the walk finds the problem itself', ({ rpc, decode, schema }) => {
    const sentinel = new Error('(the decoder said only this)');
    const random = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(damaged(wireMessage(schema)), wireMessage(schema), random), (bytes) => {
        try {
          decode(bytes);
        } catch {
          refused++;
          const e = undecodable(`${SERVICE}/${rpc}`, bytes, sentinel);
          expect(e.code).toBe('UNDECODABLE_REQUEST');
          expect(e.message).not.toContain(sentinel.message);
        }
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(20); // the property saw refusals, not only good bytes
  });

  test("Health/Check: wherever protobufjs's decoder throws, the reason is the walk's, in words, not the decoder's", () => {
    const decode = healthService.Check.requestDeserialize;
    const random = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(damaged(wireMessage({ 1: 'string' })), wireMessage({ 1: 'string' }), random), (bytes) => {
        try {
          decode(bytes);
        } catch (err) {
          refused++;
          const e = undecodable('/grpc.health.v1.Health/Check', bytes, err);
          expect(e.message).toMatch(/^the request could not be decoded as grpc\.health\.v1\.HealthCheckRequest: /);
          expect(e.message).not.toContain((err as Error).message);
        }
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(20);
  });

  test('withTolerantHandlers refuses a service that streams requests (its handler would be given UndecodableRequests)', () => {
    expect(() => withTolerantHandlers(QueueServiceService, {}, pino({ enabled: false }))).toThrow(/\/coramq\.v1\.QueueService\/EnqueueStream streams requests/);
  });

  test('every QueueService deserializer is wrapped: none throws, a refusal is an UndecodableRequest', () => {
    const definition = withTolerantDecoders(QueueServiceService);
    for (const method of Object.values(definition)) {
      const out = (method.requestDeserialize as (b: Buffer) => unknown)(Buffer.from([0x0f]));
      expect(out).toBeInstanceOf(UndecodableRequest);
    }
  });
});
