/**
 * Coalescing of enqueue calls into batches and of acks into ack batches, against a real
 * server, on both transports: batches written on EnqueueStream / AckStream (the default) and
 * EnqueueBatch / AckBatch calls. Calls for different queues share batches (each entry names
 * its queue when a batch mixes them). Batches are counted on the wire by a grpc-js interceptor.
 */
import { InterceptingCall, Metadata, status, type Interceptor, type StatusObject } from '@grpc/grpc-js';
import { CancelledError, CoraMQClient, DeadlineExceededError, InvalidArgumentError, InvalidReceiptError, QueueNotFoundError, UnavailableError, type ClientOptions } from '../src';
import { startTestServer, type TestServer } from '../../test/support/server';
import { defaultMaxSize } from '../src/coalescer';
import { GROWN_MAX_SIZE } from '../src/batch-call';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
// A burst of 1,000 calls in one turn: on the stream 32 ×5, then a quarter of what is unanswered
// (40, 50, 62, 78, 97, 121, 152, 190) and the last 50; unary 256 ×3 and 232 (256 is also the ceiling).
const burstOf1000 = transport === 'stream' ? 14 : 4;

test('1,000 concurrent enqueue calls: the first batch has the default size, the cap grows with the entries unanswered, up to GROWN_MAX_SIZE; each caller gets the id of its own message', async () => {
  const client = connect();
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.enqueue('q', `payload-${i}`)));
  const sizes = rpcs.batchQueues('Enqueue').map((b) => b.entries.length);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
  expect(sizes[0]).toBe(maxSize);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.max(maxSize, GROWN_MAX_SIZE));
  // Made in one turn, no answer comes between them: each full batch is at least as big as the one before.
  const full = sizes.slice(0, -1);
  expect(full.every((n, i) => i === 0 || n >= full[i - 1])).toBe(true);
  expect(sizes.length).toBe(burstOf1000);
  expect(rpcs.started('EnqueueStream')).toBe(streams); // one stream carries them all
  expect(rpcs.started('Enqueue')).toBe(0);
  expect(new Set(results.map((r) => r.id)).size).toBe(1000);
  const received = await client.receive('q', { max: 1000 });
  const payloadById = new Map(received.map((m) => [m.id, m.text()]));
  results.forEach((r, i) => expect(payloadById.get(r.id)).toBe(`payload-${i}`));
});

test('once the answers are in, the cap is back to the default: a later burst of 100 goes out in batches of the default size', async () => {
  const client = connect();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.enqueue('q', `first-${i}`)));
  const before = rpcs.batchQueues('Enqueue').length;
  await Promise.all(Array.from({ length: 100 }, (_, i) => client.enqueue('q', `second-${i}`)));
  const sizes = rpcs.batchQueues('Enqueue').slice(before).map((b) => b.entries.length);
  expect(sizes).toEqual(maxSize >= 100 ? [100] : [32, 32, 32, 4]);
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
  await client.createQueue('q2');
  const withId = client.enqueue('q', 'a', { id: 'order-1' });
  const withoutId = rejection(client.enqueue('q', 'b'));
  const otherQueue = client.enqueue('q2', 'c', { id: 'order-1' }); // the same id, in another queue of the same batch
  expect(await withId).toEqual({ id: 'order-1', duplicate: true }); // the retry found the first attempt's message
  expect(await otherQueue).toEqual({ id: 'order-1', duplicate: true });
  expect(await withoutId).toBeInstanceOf(UnavailableError);
  expect(rpcs.batches('Enqueue')).toBe(2);
  expect(rpcs.started('EnqueueStream')).toBe(2 * streams); // the broken stream, then a new one
  expect((await client.getQueue('q')).stats.ready).toBe(2); // each message once
  expect((await client.receive('q2', { max: 10 })).map((m) => m.text())).toEqual(['c']);
});

test('calls spread over 100 queues go out in full batches, not one per queue; each message lands in its own queue, in order', async () => {
  const client = connect();
  const queues = Array.from({ length: 100 }, (_, i) => `spread-${i}`);
  await Promise.all(queues.map((q) => client.createQueue(q)));
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.enqueue(queues[i % 100], `m${i}`)));
  expect(rpcs.batches('Enqueue')).toBe(burstOf1000); // as many as for one queue
  expect(rpcs.started('EnqueueStream')).toBe(streams);
  // A batch that mixes queues names each entry's queue and leaves the request's empty.
  for (const b of rpcs.batchQueues('Enqueue')) expect([b.queue, b.entries.every((e) => e.startsWith('spread-'))]).toEqual(['', true]);
  expect(new Set(results.map((r) => r.id)).size).toBe(1000);
  for (const [k, q] of [queues[0], queues[57], queues[99]].entries()) {
    const n = [0, 57, 99][k];
    const got = await client.receive(q, { max: 100 });
    expect(got.map((m) => m.text())).toEqual(Array.from({ length: 10 }, (_, j) => `m${n + 100 * j}`));
  }
});

test('a batch of one queue names it on the request only, as every server version reads it', async () => {
  const client = connect();
  await Promise.all([client.enqueue('q', 'a'), client.enqueue('q', 'b')]);
  expect(rpcs.batchQueues('Enqueue')).toEqual([{ queue: 'q', entries: ['', ''] }]);
});

test('in one batch, an entry for a missing queue fails with QueueNotFoundError and one with a bad name with InvalidArgumentError; the others succeed', async () => {
  const client = connect();
  await client.createQueue('q2');
  const calls = [
    client.enqueue('q', 'a', { id: 'a' }),
    client.enqueue('missing', 'x'),
    client.enqueue('q2', 'b', { id: 'b' }),
    client.enqueue('bad name', 'y'),
    client.enqueue('q', 'c', { id: 'c' }),
  ];
  const settled = await Promise.allSettled(calls);
  expect(rpcs.batches('Enqueue')).toBe(1);
  expect(rpcs.batchQueues('Enqueue')).toEqual([{ queue: '', entries: ['q', 'missing', 'q2', 'bad name', 'q'] }]);
  expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.id : s.reason.constructor.name))).toEqual(['a', 'QueueNotFoundError', 'b', 'InvalidArgumentError', 'c']);
  expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(QueueNotFoundError);
  expect((settled[1] as PromiseRejectedResult).reason.message).toBe("queue 'missing' does not exist");
  expect((await client.receive('q', { max: 10 })).map((m) => m.id)).toEqual(['a', 'c']);
  expect((await client.receive('q2', { max: 10 })).map((m) => m.id)).toEqual(['b']);
});

test('against a server that predates entry queues, a mixed batch is refused whole, then sent per queue, and so are later ones; every call succeeds', async () => {
  // Such a server reads the bytes without the entries' queue field: it sees an empty request
  // queue. The interceptor sends exactly that to this server.
  const oldServer: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      sendMessage(message: { messages?: object[]; entries?: object[] }, next) {
        const strip = (es?: object[]) => es?.map((e) => ({ ...e, queue: '' }));
        next(message.messages !== undefined ? { ...message, messages: strip(message.messages) } : message.entries !== undefined ? { ...message, entries: strip(message.entries) } : message);
      },
    });
  const client = connect({}, [oldServer]);
  await client.createQueue('q2');
  const first = await Promise.all([client.enqueue('q', 'a'), client.enqueue('q2', 'b'), client.enqueue('q', 'c')]);
  expect(first.every((r) => !r.duplicate)).toBe(true);
  expect(rpcs.batchQueues('Enqueue')).toEqual([
    { queue: '', entries: ['q', 'q2', 'q'] }, // refused: INVALID_QUEUE_NAME for the whole batch
    { queue: 'q', entries: ['', ''] },
    { queue: 'q2', entries: [''] },
  ]);
  await Promise.all([client.enqueue('q2', 'd'), client.enqueue('q', 'e')]);
  expect(rpcs.batchQueues('Enqueue').slice(3)).toEqual([
    { queue: 'q2', entries: [''] },
    { queue: 'q', entries: [''] },
  ]);
  expect((await client.receive('q', { max: 10 })).map((m) => m.text())).toEqual(['a', 'c', 'e']);
  expect((await client.receive('q2', { max: 10 })).map((m) => m.text())).toEqual(['b', 'd']);
});

test('an empty queue name in a mixed batch fails only its own call, and later mixed batches are not split', async () => {
  const client = connect();
  await client.createQueue('q2');
  const settled = await Promise.allSettled([client.enqueue('q', 'a'), client.enqueue('', 'x'), client.enqueue('q2', 'b')]);
  expect(settled.map((s) => (s.status === 'fulfilled' ? 'ok' : s.reason.constructor.name))).toEqual(['ok', 'InvalidArgumentError', 'ok']);
  await Promise.all([client.enqueue('q', 'c'), client.enqueue('q2', 'd')]);
  expect(rpcs.batchQueues('Enqueue').slice(-1)).toEqual([{ queue: '', entries: ['q', 'q2'] }]);
  expect((await client.receive('q', { max: 10 })).map((m) => m.text())).toEqual(['a', 'c']);
});

test('acks of messages from several queues share batches; a stale receipt fails only its own ack', async () => {
  const client = connect();
  const queues = ['q', 'q2', 'q3'];
  await Promise.all(queues.slice(1).map((q) => client.createQueue(q)));
  await Promise.all(Array.from({ length: 90 }, (_, i) => client.enqueue(queues[i % 3], String(i))));
  const perQueue = await Promise.all(queues.map((q) => client.receive(q, { max: 30, visibilityTimeout: 1_000 })));
  const received = perQueue[0].flatMap((_, i) => perQueue.map((ms) => ms[i])); // acked round robin over the queues
  expect(received.filter((m) => m !== undefined)).toHaveLength(90);
  const stale = received.find((m) => m.queue === 'q2')!;
  await stale.extendVisibility(1);
  t.clock.advance(1);
  expect((await client.receive('q2'))[0].id).toBe(stale.id);
  const before = rpcs.batches('Ack');
  const outcomes = await Promise.allSettled(received.map((m) => m.ack()));
  expect(rpcs.batches('Ack') - before).toBe(Math.ceil(90 / maxSize));
  expect(rpcs.batchQueues('Ack').every((b) => b.queue === '' && new Set(b.entries).size === 3)).toBe(true);
  expect(outcomes.flatMap((o, i) => (o.status === 'rejected' ? [[received[i].id, o.reason.constructor.name]] : []))).toEqual([[stale.id, 'InvalidReceiptError']]);
  for (const q of queues) expect((await client.getQueue(q)).stats.ackedTotal).toBe(q === 'q2' ? 29 : 30);
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
  const sizes = rpcs.batchQueues('Ack').map((b) => b.entries.length);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(300);
  expect(sizes[0]).toBe(Math.min(300, maxSize)); // then growing with the acks unanswered (on the stream: 32 ×5, 40, 50, 50)
  expect(sizes.length).toBe(maxSize < GROWN_MAX_SIZE ? 8 : Math.ceil(300 / maxSize));
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

test('an ack waiting for its answer does not keep its message: one its caller let go is collected meanwhile, and the ack still resolves', async () => {
  // Holds the answers on AckStream until the test lets them go.
  const held: (() => void)[] = [];
  const holdAcks: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveMessage(message: unknown, nextMessage: (m: unknown) => void) {
            if (options.method_definition.path.endsWith('/AckStream')) held.push(() => nextMessage(message));
            else nextMessage(message);
          },
        });
      },
    });
  const client = new CoraMQClient(t.server.address, { clock: t.clock, channelOptions: { interceptors: [holdAcks, rpcs.interceptor] } });
  clients.push(client);
  await client.enqueue('q', 'x'.repeat(1000));
  const acked = await (async () => {
    const [m] = await client.receive('q');
    m.payload; // the view a caller reads, kept by the message
    return { ack: m.ack(), message: new WeakRef(m) };
  })();
  await rpcs.untilReceived('AckStream', 1);
  expect(held).toHaveLength(1);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  try {
    gc();
    expect(acked.message.deref()).toBeUndefined();
  } finally {
    held[0](); // also when the expectation failed: close() waits for the answer
  }
  await expect(acked.ack).resolves.toBeUndefined();
  expect((await client.getQueue('q')).stats).toMatchObject({ ackedTotal: 1, inFlight: 0 });
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
