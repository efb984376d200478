/**
 * Coalescing of enqueue calls into EnqueueBatch and of acks into AckBatch, against a real
 * server; RPCs are counted on the wire by a grpc-js interceptor.
 */
import { InterceptingCall, Metadata, status, type Interceptor, type StatusObject } from '@grpc/grpc-js';
import { CancelledError, CoraMQClient, InvalidArgumentError, InvalidReceiptError, UnavailableError, type ClientOptions } from '../src';
import { startTestServer, type TestServer } from '../../test/support/server';
import { rejection, rpcCounter, type RpcCounter } from './support';

let t: TestServer;
let rpcs: RpcCounter;
const clients: CoraMQClient[] = [];
const connect = (options: ClientOptions = {}, interceptors: Interceptor[] = []): CoraMQClient => {
  const c = new CoraMQClient(t.server.address, { clock: t.clock, ...options, channelOptions: { interceptors: [rpcs.interceptor, ...interceptors] } });
  clients.push(c);
  return c;
};

beforeEach(async () => {
  t = await startTestServer();
  rpcs = rpcCounter();
  await connect().createQueue('q');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t.close();
});

test('1,000 concurrent enqueue calls go out in 4 EnqueueBatch calls; each caller gets the id of its own message', async () => {
  const client = connect();
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.enqueue('q', `payload-${i}`)));
  expect(rpcs.started('EnqueueBatch')).toBe(4); // the default cap is 256 messages
  expect(rpcs.started('Enqueue')).toBe(0);
  expect(new Set(results.map((r) => r.id)).size).toBe(1000);
  const received = await client.receive('q', { max: 1000 });
  const payloadById = new Map(received.map((m) => [m.id, m.text()]));
  results.forEach((r, i) => expect(payloadById.get(r.id)).toBe(`payload-${i}`));
});

test('one bad message in a batch fails only its own caller', async () => {
  const client = connect();
  const calls = Array.from({ length: 100 }, (_, i) =>
    client.enqueue('q', `m${i}`, i === 50 ? { attributes: { 'not a valid key': 'x' } } : { id: `id-${i}` }),
  );
  const settled = await Promise.allSettled(calls);
  expect(rpcs.started('EnqueueBatch')).toBe(1);
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [i] : []));
  expect(failed).toEqual([50]);
  expect((settled[50] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidArgumentError);
  expect(settled[49]).toEqual({ status: 'fulfilled', value: { id: 'id-49', duplicate: false } });
  expect((await client.getQueue('q')).stats.ready).toBe(99);
});

test('the size cap splits a burst: 95 calls with maxSize 10 make 10 calls', async () => {
  const client = connect({ batching: { maxSize: 10 } });
  await Promise.all(Array.from({ length: 95 }, (_, i) => client.enqueue('q', String(i))));
  expect(rpcs.started('EnqueueBatch')).toBe(10);
});

test('calls from different turns join one batch while the linger lasts', async () => {
  const client = connect({ batching: { linger: 50 } });
  const first = client.enqueue('q', 'a');
  await new Promise((r) => setImmediate(r));
  const second = client.enqueue('q', 'b');
  await new Promise((r) => setImmediate(r));
  expect(rpcs.started('EnqueueBatch')).toBe(0);
  t.clock.advance(50);
  await Promise.all([first, second]);
  expect(rpcs.started('EnqueueBatch')).toBe(1);
});

test('batching: false sends each enqueue as its own Enqueue call', async () => {
  const client = connect({ batching: false });
  await Promise.all([client.enqueue('q', 'a'), client.enqueue('q', 'b'), client.enqueue('q', 'c', { id: 'c' })]);
  expect(rpcs.started('Enqueue')).toBe(3);
  expect(rpcs.started('EnqueueBatch')).toBe(0);
});

test("a server whose batch limit is below the client's cap: the cap halves until batches fit, and every call succeeds", async () => {
  await t.close();
  t = await startTestServer({ config: (c) => (c.limits.maxBatchSize = 10) });
  const client = connect();
  await client.createQueue('q');
  await Promise.all(Array.from({ length: 100 }, (_, i) => client.enqueue('q', String(i))));
  expect((await client.getQueue('q')).stats.ready).toBe(100);
  const codes = rpcs.finished('EnqueueBatch');
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
  let lose = 1;
  const loseReply: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveStatus(s: StatusObject, nextStatus: (s: StatusObject) => void) {
            const isBatch = options.method_definition.path.endsWith('/EnqueueBatch');
            if (isBatch && s.code === status.OK && lose-- > 0) nextStatus({ code: status.UNAVAILABLE, details: 'connection reset (test)', metadata: new Metadata() });
            else nextStatus(s);
          },
        });
      },
    });
  const client = connect({ reconnect: { initialDelay: 1, maxDelay: 1 }, clock: undefined }, [loseReply]);
  const withId = client.enqueue('q', 'a', { id: 'order-1' });
  const withoutId = rejection(client.enqueue('q', 'b'));
  expect(await withId).toEqual({ id: 'order-1', duplicate: true }); // the retry found the first attempt's message
  expect(await withoutId).toBeInstanceOf(UnavailableError);
  expect(rpcs.started('EnqueueBatch')).toBe(2);
  expect((await client.getQueue('q')).stats.ready).toBe(2); // each message once
});

test('acks are coalesced into AckBatch; a stale receipt fails only its own ack', async () => {
  const client = connect();
  await Promise.all(Array.from({ length: 300 }, (_, i) => client.enqueue('q', String(i))));
  const first = await client.receive('q', { max: 300, visibilityTimeout: 1_000 });
  // Let one lease expire and deliver that message again: its old receipt is stale.
  const stale = first[0];
  await first[0].extendVisibility(1); // ends 1 ms from now
  t.clock.advance(1);
  const [again] = await client.receive('q');
  expect(again.id).toBe(stale.id);
  const outcomes = await Promise.allSettled(first.map((m) => m.ack()));
  expect(rpcs.started('AckBatch')).toBe(2); // 300 acks, cap 256
  expect(rpcs.started('Ack')).toBe(0);
  expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
  expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidReceiptError);
  expect((await client.getQueue('q')).stats).toMatchObject({ ackedTotal: 299, inFlight: 1 });
});
