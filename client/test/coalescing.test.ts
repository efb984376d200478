/**
 * Coalescing of enqueue calls into batches and of acks into ack batches, against a real
 * server, on both transports: batches written on EnqueueStream / AckStream (the default) and
 * EnqueueBatch / AckBatch calls. Batches are counted on the wire by a grpc-js interceptor.
 */
import { InterceptingCall, Metadata, status, type Interceptor, type StatusObject } from '@grpc/grpc-js';
import { CancelledError, CoraMQClient, DeadlineExceededError, InvalidArgumentError, InvalidReceiptError, UnavailableError, type ClientOptions } from '../src';
import { startTestServer, type TestServer } from '../../test/support/server';
import { defaultMaxSize } from '../src/coalescer';
import { rejection, rpcCounter, type RpcCounter } from './support';

let t: TestServer;
let rpcs: RpcCounter;
const clients: CoraMQClient[] = [];

beforeEach(async () => {
  t = await startTestServer();
  rpcs = rpcCounter();
  const admin = new CoraMQClient(t.server.address, { clock: t.clock });
  clients.push(admin);
  await admin.createQueue('q');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t.close();
});

describe.each(['stream', 'unary'] as const)('%s transport', (transport) => {
const connect = (options: ClientOptions = {}, interceptors: Interceptor[] = []): CoraMQClient => {
  const batching = options.batching === false ? false : { transport, ...options.batching };
  const c = new CoraMQClient(t.server.address, { clock: t.clock, ...options, batching, channelOptions: { interceptors: [rpcs.interceptor, ...interceptors] } });
  clients.push(c);
  return c;
};
const streams = transport === 'stream' ? 1 : 0;
const maxSize = defaultMaxSize({ transport }); // 32 on the stream, 256 unary

test('1,000 concurrent enqueue calls go out in batches of the default size; each caller gets the id of its own message', async () => {
  const client = connect();
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.enqueue('q', `payload-${i}`)));
  expect(rpcs.batches('Enqueue')).toBe(Math.ceil(1000 / maxSize));
  expect(rpcs.started('EnqueueStream')).toBe(streams); // one stream carries them all
  expect(rpcs.started('Enqueue')).toBe(0);
  expect(new Set(results.map((r) => r.id)).size).toBe(1000);
  const received = await client.receive('q', { max: 1000 });
  const payloadById = new Map(received.map((m) => [m.id, m.text()]));
  results.forEach((r, i) => expect(payloadById.get(r.id)).toBe(`payload-${i}`));
});

test('one bad message in a batch fails only its own caller', async () => {
  const client = connect({ batching: { maxSize: 100 } });
  const calls = Array.from({ length: 100 }, (_, i) =>
    client.enqueue('q', `m${i}`, i === 50 ? { attributes: { 'not a valid key': 'x' } } : { id: `id-${i}` }),
  );
  const settled = await Promise.allSettled(calls);
  expect(rpcs.batches('Enqueue')).toBe(1);
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [i] : []));
  expect(failed).toEqual([50]);
  expect((settled[50] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidArgumentError);
  expect(settled[49]).toEqual({ status: 'fulfilled', value: { id: 'id-49', duplicate: false } });
  expect((await client.getQueue('q')).stats.ready).toBe(99);
});

test('the size cap splits a burst: 95 calls with maxSize 10 make 10 calls', async () => {
  const client = connect({ batching: { maxSize: 10 } });
  await Promise.all(Array.from({ length: 95 }, (_, i) => client.enqueue('q', String(i))));
  expect(rpcs.batches('Enqueue')).toBe(10);
});

test('calls from different turns join one batch while the linger lasts', async () => {
  const client = connect({ batching: { linger: 50 } });
  const first = client.enqueue('q', 'a');
  await new Promise((r) => setImmediate(r));
  const second = client.enqueue('q', 'b');
  await new Promise((r) => setImmediate(r));
  expect(rpcs.batches('Enqueue')).toBe(0);
  t.clock.advance(50);
  await Promise.all([first, second]);
  expect(rpcs.batches('Enqueue')).toBe(1);
});

test('batching: false sends each enqueue as its own Enqueue call', async () => {
  const client = connect({ batching: false });
  await Promise.all([client.enqueue('q', 'a'), client.enqueue('q', 'b'), client.enqueue('q', 'c', { id: 'c' })]);
  expect(rpcs.started('Enqueue')).toBe(3);
  expect(rpcs.batches('Enqueue')).toBe(0);
});

test("a server whose batch limit is below the client's cap: the cap halves until batches fit, and every call succeeds", async () => {
  await t.close();
  t = await startTestServer({ config: (c) => (c.limits.maxBatchSize = 10) });
  const client = connect();
  await client.createQueue('q');
  await Promise.all(Array.from({ length: 100 }, (_, i) => client.enqueue('q', String(i))));
  expect((await client.getQueue('q')).stats.ready).toBe(100);
  const codes = rpcs.batchCodes('Enqueue');
  expect(codes.filter((c) => c === status.INVALID_ARGUMENT).length).toBeGreaterThan(0);
  expect(codes.filter((c) => c === status.OK).length).toBeGreaterThanOrEqual(10);
});

test('an enqueue whose signal aborts before its batch is sent is left out of it', async () => {
  const client = connect();
  const ac = new AbortController();
  const kept = client.enqueue('q', 'kept');
  const dropped = rejection(client.enqueue('q', 'dropped', { signal: ac.signal }));
  ac.abort();
  expect(await dropped).toBeInstanceOf(CancelledError);
  await kept;
  expect((await client.receive('q', { max: 10 })).map((m) => m.text())).toEqual(['kept']);
});

test('after UNAVAILABLE (the reply was lost, the batch applied) only messages with an id are sent again, and are not enqueued twice', async () => {
  // The first batch's answer is lost: a unary call's OK becomes UNAVAILABLE; the stream's
  // answer is dropped and the stream broken with UNAVAILABLE.
  let lose = 1;
  const loseReply: Interceptor = (options, nextCall) => {
    const path = options.method_definition.path;
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveMessage(message: unknown, nextMessage: (m: unknown) => void) {
            if (path.endsWith('/EnqueueStream') && lose-- > 0) {
              // grpc-js holds a status back while a message is being intercepted, so the
              // broken stream's status goes straight to the listener above.
              listener.onReceiveStatus({ code: status.UNAVAILABLE, details: 'connection reset (test)', metadata: new Metadata() });
              call.cancelWithStatus(status.CANCELLED, 'dropped by the test');
            } else nextMessage(message);
          },
          onReceiveStatus(s: StatusObject, nextStatus: (s: StatusObject) => void) {
            if (path.endsWith('/EnqueueBatch') && s.code === status.OK && lose-- > 0) nextStatus({ code: status.UNAVAILABLE, details: 'connection reset (test)', metadata: new Metadata() });
            else nextStatus(s);
          },
        });
      },
    });
    return call;
  };
  const client = connect({ reconnect: { initialDelay: 1, maxDelay: 1 }, clock: undefined }, [loseReply]);
  const withId = client.enqueue('q', 'a', { id: 'order-1' });
  const withoutId = rejection(client.enqueue('q', 'b'));
  expect(await withId).toEqual({ id: 'order-1', duplicate: true }); // the retry found the first attempt's message
  expect(await withoutId).toBeInstanceOf(UnavailableError);
  expect(rpcs.batches('Enqueue')).toBe(2);
  expect(rpcs.started('EnqueueStream')).toBe(2 * streams); // the broken stream, then a new one
  expect((await client.getQueue('q')).stats.ready).toBe(2); // each message once
});

test('acks are coalesced into batches; a stale receipt fails only its own ack', async () => {
  const client = connect();
  await Promise.all(Array.from({ length: 300 }, (_, i) => client.enqueue('q', String(i))));
  const first = await client.receive('q', { max: 300, visibilityTimeout: 1_000 });
  expect(first).toHaveLength(300);
  // Let one lease expire and deliver that message again: its old receipt is stale.
  const stale = first[0];
  await first[0].extendVisibility(1); // ends 1 ms from now
  t.clock.advance(1);
  const [again] = await client.receive('q');
  expect(again.id).toBe(stale.id);
  const outcomes = await Promise.allSettled(first.map((m) => m.ack()));
  expect(rpcs.batches('Ack')).toBe(Math.ceil(300 / maxSize));
  expect(rpcs.started('AckStream')).toBe(streams);
  expect(rpcs.started('Ack')).toBe(0);
  expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
  expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidReceiptError);
  expect((await client.getQueue('q')).stats).toMatchObject({ ackedTotal: 299, inFlight: 1 });
});
});

test('on the stream, an answer that misses its deadline fails its caller alone; later answers still reach their own callers', async () => {
  // Holds the first answer on EnqueueStream until the test lets it go.
  let held: (() => void) | null = null;
  let holdNext = true;
  const holdFirst: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveMessage(message: unknown, nextMessage: (m: unknown) => void) {
            if (holdNext) {
              holdNext = false;
              held = () => nextMessage(message);
            } else nextMessage(message);
          },
        });
      },
    });
  const client = new CoraMQClient(t.server.address, { clock: t.clock, deadline: 1_000, channelOptions: { interceptors: [holdFirst, rpcs.interceptor] } });
  clients.push(client);
  const late = rejection(client.enqueue('q', 'late', { id: 'late' }));
  await rpcs.untilReceived('EnqueueStream', 1);
  t.clock.advance(1_000);
  expect(await late).toBeInstanceOf(DeadlineExceededError);
  const onTime = client.enqueue('q', 'on time', { id: 'on-time' });
  await rpcs.untilSent('EnqueueStream', 2);
  held!(); // the late answer arrives first, and is dropped
  expect(await onTime).toEqual({ id: 'on-time', duplicate: false });
  expect(rpcs.started('EnqueueStream')).toBe(1);
  // The late batch was applied all the same (as a unary call whose reply came too late would be).
  expect((await client.getQueue('q')).stats.ready).toBe(2);
});

test('close() waits for the answers of batches on the stream before it closes the connection', async () => {
  const client = new CoraMQClient(t.server.address, { clock: t.clock, channelOptions: { interceptors: [rpcs.interceptor] } });
  let answered = 0;
  const sent = Array.from({ length: 10 }, (_, i) => client.enqueue('q', String(i)).then((r) => (answered++, r)));
  await client.close();
  expect(answered).toBe(10);
  expect((await Promise.all(sent)).every((r) => !r.duplicate)).toBe(true);
  expect(rpcs.started('EnqueueStream')).toBe(1);
  const reader = new CoraMQClient(t.server.address, { clock: t.clock });
  clients.push(reader);
  expect((await reader.getQueue('q')).stats.ready).toBe(10);
});
