/**
 * Delivery through real gRPC: order, leases and redelivery, stale receipts, push without
 * polling, integrity under many competing streams, prefetch limits and how streams end.
 */
import { status } from '@grpc/grpc-js';
import { AckRequest } from '../../generated/coramq/v1/queue';
import { startTestServer, rejection, errorCode, type TestServer } from '../support/server';
import { createQueue, dequeue, enqueue, ms } from '../support/wire';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

const ack = (queue: string, id: string, receipt: string) => t.call('ack', AckRequest.fromPartial({ queue, id, receipt }));

test('priorities 1,1,3,3,1 for ids 1..5 are delivered as 3,4,1,2,5', async () => {
  await createQueue(t, 'q');
  for (const [i, priority] of [1, 1, 3, 3, 1].entries()) await enqueue(t, 'q', { id: String(i + 1), priority });
  const r = dequeue(t, 'q', { maxMessages: 5 });
  expect((await r.take(5)).map((m) => m.id)).toEqual(['3', '4', '1', '2', '5']);
  expect((await r.ended()).code).toBe(status.OK);
});

test('5 is delivered and not acked; after its visibility timeout it is delivered again; acked; then 6', async () => {
  await createQueue(t, 'q', { visibilityTimeout: ms(10_000) });
  await enqueue(t, 'q', { id: '5' });
  await enqueue(t, 'q', { id: '6' });
  const r = dequeue(t, 'q', { maxInFlight: 1 });
  const [first] = await r.take(1);
  expect(first).toMatchObject({ id: '5', deliveryCount: 1, queue: 'q' });
  expect(Number(first.visibleAt?.seconds) * 1000).toBe(Math.floor((t.clock.now() + 10_000) / 1000) * 1000);
  t.clock.advance(9_999);
  t.clock.advance(1);
  const second = (await r.take(2))[1];
  expect(second).toMatchObject({ id: '5', deliveryCount: 2 });
  expect(second.receipt).not.toBe(first.receipt);
  await ack('q', '5', second.receipt);
  expect((await r.take(3))[2].id).toBe('6');
  expect(r.messages.length).toBe(3);
  r.cancel();
});

test('stale receipt: A lease expires, B receives, A ack fails FAILED_PRECONDITION, B ack succeeds, message gone', async () => {
  await createQueue(t, 'q', { visibilityTimeout: ms(1000) });
  await enqueue(t, 'q', { id: 'm' });
  const [a] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  t.clock.advance(1000);
  const [b] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  expect(b.id).toBe('m');
  const err = await rejection(ack('q', 'm', a.receipt));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(errorCode(err)).toBe('STALE_RECEIPT');
  expect(err.details).toMatch(/not that of its current delivery/);
  await ack('q', 'm', b.receipt);
  const after = await dequeue(t, 'q', { waitTime: ms(0) }).ended();
  expect(after.code).toBe(status.OK);
  const q = await t.call('getQueue', { name: 'q' });
  expect(q.queue?.stats).toMatchObject({ ready: 0, inFlight: 0, ackedTotal: 1, expiredTotal: 1, deliveredTotal: 2 });
});

test('a waiting stream receives a message enqueued later, with no time passing (push, not polling)', async () => {
  await createQueue(t, 'q');
  const r = dequeue(t, 'q');
  await t.call('getQueue', { name: 'q' }); // the stream is open before the enqueue
  await enqueue(t, 'q', { id: 'later' });
  expect((await r.take(1))[0].id).toBe('later');
  r.cancel();
});

test('an expired lease is delivered to a waiting stream without any new call', async () => {
  await createQueue(t, 'q', { visibilityTimeout: ms(500) });
  await enqueue(t, 'q', { id: 'x' });
  const first = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
  const waiting = dequeue(t, 'q');
  await t.call('getQueue', { name: 'q' });
  expect(waiting.messages.length).toBe(0);
  t.clock.advance(500);
  const [again] = await waiting.take(1);
  expect(again).toMatchObject({ id: 'x', deliveryCount: 2 });
  expect(again.receipt).not.toBe(first[0].receipt);
  waiting.cancel();
});

test('integrity: 10,000 messages over 50 concurrent streams, none lost, none twice, none invented', async () => {
  await createQueue(t, 'q');
  const n = 10_000;
  const producer = (async () => {
    for (let i = 0; i < n; i += 500) {
      const messages = Array.from({ length: 500 }, (_, j) => ({ id: `m${i + j}`, payload: Buffer.from(String(i + j)), priority: (i + j) % 7, delay: undefined, attributes: {}, queue: '' }));
      const res = await t.call('enqueueBatch', { queue: 'q', messages });
      expect(res.results.every((x) => x.error === undefined && !x.duplicate)).toBe(true);
    }
  })();
  const seen = new Map<string, number>();
  const clients = Array.from({ length: 5 }, () => t.newClient());
  const streams = Array.from({ length: 50 }, (_, i) => dequeue(t, 'q', { maxInFlight: 20 }, clients[i % 5]));
  let acked = 0;
  const done = new Promise<void>((resolve) => {
    for (const s of streams) {
      s.call.on('data', (r: { messages: { id: string; receipt: string }[] }) => {
        for (const m of r.messages) {
          seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
          ack('q', m.id, m.receipt).then(() => {
            if (++acked === n) resolve();
          });
        }
      });
    }
  });
  await producer;
  await done;
  streams.forEach((s) => s.cancel());
  expect(seen.size).toBe(n);
  expect([...seen.values()].every((c) => c === 1)).toBe(true);
  for (const id of seen.keys()) expect(id).toMatch(/^m\d+$/);
  expect(Number(id_max(seen))).toBeLessThan(n);
  const q = await t.call('getQueue', { name: 'q' });
  expect(q.queue?.stats).toMatchObject({ ready: 0, inFlight: 0, ackedTotal: n, deliveredTotal: n });
  clients.forEach((c) => c.close());
});

function id_max(seen: Map<string, number>): number {
  return Math.max(...[...seen.keys()].map((k) => Number(k.slice(1))));
}

test('max_in_flight holds back deliveries until acks free room', async () => {
  await createQueue(t, 'q');
  for (let i = 0; i < 5; i++) await enqueue(t, 'q', { id: `m${i}` });
  const r = dequeue(t, 'q', { maxInFlight: 2 });
  const firstTwo = await r.take(2);
  await t.call('getQueue', { name: 'q' });
  expect(r.messages.length).toBe(2);
  await ack('q', firstTwo[0].id, firstTwo[0].receipt);
  expect((await r.take(3))[2].id).toBe('m2');
  await t.call('getQueue', { name: 'q' });
  expect(r.messages.length).toBe(3);
  r.cancel();
});

test('wait_time 0s answers what is ready now and ends; unset stays open; wait_time ends an idle stream', async () => {
  await createQueue(t, 'q');
  await enqueue(t, 'q', { id: 'a' });
  await enqueue(t, 'q', { id: 'b' });
  const now = dequeue(t, 'q', { waitTime: ms(0) });
  expect((await now.ended()).code).toBe(status.OK);
  expect(now.ids).toEqual(['a', 'b']);

  const idle = dequeue(t, 'q', { waitTime: ms(2000) });
  await t.call('getQueue', { name: 'q' });
  t.clock.advance(1500);
  await enqueue(t, 'q', { id: 'c' });
  await idle.take(1);
  t.clock.advance(1999);
  expect(idle.status).toBeNull();
  t.clock.advance(1);
  expect((await idle.ended()).code).toBe(status.OK);
  expect(idle.ids).toEqual(['c']);
});

test('a client deadline ends the long-poll with OK just before it, delivering what it got', async () => {
  t.server.broker; // real time is needed here: the deadline is the client's wall clock
  const real = await startTestServer({ clock: 'system' });
  try {
    await createQueue(real, 'q');
    await enqueue(real, 'q', { id: 'a' });
    const r = new (require('../support/stream-reader').StreamReader)(
      real.client.dequeue({ queue: 'q', maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: 0 }, { deadline: Date.now() + 300 }),
    );
    const s = await r.ended();
    expect(s.code).toBe(status.OK);
    expect(r.ids).toEqual(['a']);
  } finally {
    await real.close();
  }
});

test('messages delivered in one turn share frames; a large backlog streams under backpressure', async () => {
  await createQueue(t, 'q');
  const payload = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; i < 10; i++) {
    const messages = Array.from({ length: 20 }, () => ({ id: '', payload, priority: 0, delay: undefined, attributes: {}, queue: '' }));
    await t.call('enqueueBatch', { queue: 'q', messages });
  }
  const r = dequeue(t, 'q', { maxInFlight: 10_000, maxMessages: 200 });
  const all = await r.take(200);
  expect(all.every((m) => m.payload.length === payload.length)).toBe(true);
  expect(r.frames).toBeLessThan(200);
  expect((await r.ended()).code).toBe(status.OK);
});

test('the server delivers at most --deliveries-per-turn messages in one turn; streams that subscribe together get them all in the next turns', async () => {
  const paced = await startTestServer({ config: (c) => (c.deliveriesPerTurn = 8) });
  try {
    await createQueue(paced, 'q');
    const messages = Array.from({ length: 60 }, (_, i) => ({ id: `m${i}`, payload: Buffer.from('x'), priority: i % 3, delay: undefined, attributes: {}, queue: '' }));
    await paced.call('enqueueBatch', { queue: 'q', messages });
    const streams = [0, 1, 2].map(() => dequeue(paced, 'q', { maxInFlight: 64, maxMessages: 20 }));
    const got = (await Promise.all(streams.map((r) => r.take(20)))).flat();
    expect(new Set(got.map((m) => m.id)).size).toBe(60);
    for (const r of streams) {
      expect(Math.max(...r.frameSizes)).toBeLessThanOrEqual(8);
      expect((await r.ended()).code).toBe(status.OK);
    }
  } finally {
    await paced.close();
  }
});
