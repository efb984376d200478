/**
 * consume(): the worker against a real server. The server and the client share one manual
 * clock, so leases, retry delays and reconnect backoff move only when a test advances it.
 */
import { CoraMQClient, defaultRetryDelay, QueueNotFoundError, UnauthenticatedError, type ClientOptions, type ReceivedMessage, type WorkerEvent } from '../src';
import { startTestServer, type TestServer } from '../../test/support/server';
import { defer, eventually, Notifier, rejection, rpcCounter, type RpcCounter } from './support';

let t: TestServer;
let rpcs: RpcCounter;
let client: CoraMQClient;
const changed = new Notifier();
const errors: { error: unknown; event: WorkerEvent }[] = [];
const onError = (error: unknown, event: WorkerEvent): void => {
  errors.push({ error, event });
  changed.notify();
};

const connect = (options: ClientOptions = {}): CoraMQClient =>
  new CoraMQClient(t.server.address, { clock: t.clock, reconnect: { initialDelay: 100, maxDelay: 100 }, channelOptions: { interceptors: [rpcs.interceptor] }, ...options });

beforeEach(async () => {
  t = await startTestServer();
  rpcs = rpcCounter();
  client = connect();
  errors.length = 0;
  await client.createQueue('q');
});
afterEach(async () => {
  await client.close();
  await t.close();
});

const stats = async () => (await client.getQueue('q')).stats;
/** Waits until the server's stats satisfy `cond` (the worker acks asynchronously). */
const statsUntil = (cond: (s: Awaited<ReturnType<typeof stats>>) => boolean, what: string): Promise<void> =>
  eventually(async () => cond(await stats()), what);

test('runs the handler once per message and acks each (coalesced into ack batches)', async () => {
  const seen: string[] = [];
  const worker = client.consume('q', (m) => void seen.push(m.text()), { concurrency: 4, onError });
  await Promise.all(Array.from({ length: 20 }, (_, i) => client.enqueue('q', `m${i}`)));
  await statsUntil((s) => s.ackedTotal === 20, '20 acks');
  expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
  expect(worker.processed).toBe(20);
  await eventually(async () => worker.acked === 20, 'the acks to be confirmed');
  expect(rpcs.started('Ack')).toBe(0);
  expect(rpcs.batches('Ack')).toBeGreaterThan(0);
  expect(errors).toEqual([]);
  await worker.close();
});

test('a handler that throws gets its message nacked with retryDelay; it runs again after the delay', async () => {
  const attempts: number[] = [];
  const worker = client.consume(
    'q',
    (m) => {
      attempts.push(m.deliveryCount);
      changed.notify();
      if (m.deliveryCount === 1) throw new Error('flaky downstream');
    },
    { retryDelay: 5_000, onError },
  );
  await client.enqueue('q', 'job');
  await statsUntil((s) => s.nackedTotal === 1, 'the nack');
  expect((await stats()).delayed).toBe(1);
  expect(errors).toMatchObject([{ error: { message: 'flaky downstream' }, event: { kind: 'handler', queue: 'q' } }]);
  t.clock.advance(5_000);
  await statsUntil((s) => s.ackedTotal === 1, 'the second attempt');
  expect(attempts).toEqual([1, 2]);
  expect(worker.failed).toBe(1);
  expect(worker.processed).toBe(1);
  await worker.close();
});

test('the default retry delay doubles from 1 s per delivery, up to 5 min', () => {
  expect([1, 2, 3, 9, 10, 50].map(defaultRetryDelay)).toEqual([1_000, 2_000, 4_000, 256_000, 300_000, 300_000]);
});

test('at most `concurrency` handlers run at once, and the server leases no more than that', async () => {
  const gates = Array.from({ length: 10 }, () => defer());
  let running = 0;
  let most = 0;
  const worker = client.consume(
    'q',
    async (m) => {
      most = Math.max(most, ++running);
      changed.notify();
      await gates[Number(m.text())].promise;
      running--;
    },
    { concurrency: 3, onError },
  );
  await Promise.all(Array.from({ length: 10 }, (_, i) => client.enqueue('q', String(i))));
  await changed.until(() => running === 3, 'three handlers running');
  expect((await stats()).inFlight).toBe(3);
  expect(worker.active).toBe(3);
  gates.forEach((g) => g.resolve());
  await statsUntil((s) => s.ackedTotal === 10, 'every message');
  expect(most).toBe(3);
  await worker.close();
});

test('a handler running longer than the visibility timeout keeps its lease: the message is not delivered again', async () => {
  const release = defer();
  const deliveries: number[] = [];
  const worker = client.consume(
    'q',
    async (m) => {
      deliveries.push(m.deliveryCount);
      changed.notify();
      await release.promise;
    },
    { visibilityTimeout: 30_000, onError },
  );
  await client.enqueue('q', 'long job');
  await changed.until(() => deliveries.length === 1, 'the handler to start');
  const rival = client.subscribe('q');
  const rivalGot: ReceivedMessage[] = [];
  const rivalLoop = (async () => {
    for await (const m of rival) rivalGot.push(m);
  })();
  // Four leases' worth of time, a third of a lease at a time; the worker extends every other step.
  for (let step = 1; step <= 12; step++) {
    t.clock.advance(10_000);
    if (step % 2 === 0) await rpcs.untilFinished('ExtendVisibility', step / 2);
  }
  expect(rpcs.finished('ExtendVisibility')).toEqual([0, 0, 0, 0, 0, 0]);
  expect(await stats()).toMatchObject({ deliveredTotal: 1, expiredTotal: 0, inFlight: 1 });
  release.resolve();
  await statsUntil((s) => s.ackedTotal === 1, 'the ack');
  expect(deliveries).toEqual([1]);
  expect(rivalGot).toEqual([]);
  expect(errors).toEqual([]);
  await rival.close();
  await rivalLoop;
  await worker.close();
});

test('a lease lost anyway (time jumped past it) is reported once; that delivery is not acked, the next one is', async () => {
  const releases = [defer(), defer()];
  const deliveries: number[] = [];
  const worker = client.consume(
    'q',
    async (m) => {
      deliveries.push(m.deliveryCount);
      changed.notify();
      await releases[m.deliveryCount - 1].promise;
    },
    { visibilityTimeout: 30_000, onError },
  );
  await client.enqueue('q', 'job');
  await changed.until(() => deliveries.length === 1, 'the first delivery');
  t.clock.advance(30_000); // the extension is sent, but the lease ends before the server sees it
  await changed.until(() => errors.length === 1, 'the failed extension');
  expect(errors[0]).toMatchObject({ error: { name: 'InvalidReceiptError' }, event: { kind: 'extend' } });
  releases[0].resolve();
  await changed.until(() => deliveries.length === 2, 'the second delivery');
  releases[1].resolve();
  await statsUntil((s) => s.ackedTotal === 1, 'the ack of the second delivery');
  expect(deliveries).toEqual([1, 2]);
  expect(errors).toHaveLength(1); // no failed ack for the first delivery: it was never sent
  await worker.close();
});

test('a lease found lost after its handler finished leaves nothing behind in the worker', async () => {
  const release = defer();
  let started = 0;
  const worker = client.consume(
    'q',
    async () => {
      started++;
      changed.notify();
      await release.promise;
    },
    { visibilityTimeout: 30_000, onError },
  );
  await client.enqueue('q', 'job');
  await changed.until(() => started === 1, 'the delivery');
  t.clock.advance(30_000); // the extension is sent, and the lease ends before the server sees it
  release.resolve(); // the handler finishes before the extension's answer arrives
  await changed.until(() => errors.some((e) => e.event.kind === 'extend'), 'the failed extension');
  expect(errors.find((e) => e.event.kind === 'extend')).toMatchObject({ error: { name: 'InvalidReceiptError' } });
  expect(worker.active).toBe(0);
  expect(worker.lostLeases).toBe(0);
  await worker.close();
});

test('(control) a message held without extension is delivered again once its lease ends', async () => {
  await client.enqueue('q', 'held');
  const [held] = await client.receive('q', { visibilityTimeout: 30_000 });
  t.clock.advance(30_000);
  const [again] = await client.receive('q');
  expect(again).toMatchObject({ id: held.id, deliveryCount: 2 });
});

test('close() stops taking messages, waits for the running handler and acks its message', async () => {
  const release = defer();
  const started = defer();
  const worker = client.consume('q', async () => {
    started.resolve();
    await release.promise;
  });
  await client.enqueue('q', 'first');
  await started.promise;
  let closed = false;
  const closing = worker.close().then(() => (closed = true));
  await statsUntil((s) => s.consumers === 0, 'the stream to close');
  await client.enqueue('q', 'after close');
  expect(closed).toBe(false);
  expect(await stats()).toMatchObject({ inFlight: 1, ackedTotal: 0, ready: 1 });
  release.resolve();
  await closing;
  expect(await stats()).toMatchObject({ inFlight: 0, ackedTotal: 1, ready: 1 });
  await worker.done;
});

test('close() with a deadline rejects when a handler is still running then', async () => {
  const stuck = defer();
  const worker = client.consume('q', () => stuck.promise);
  await client.enqueue('q', 'stuck');
  await statsUntil((s) => s.inFlight === 1, 'the delivery');
  const err = await rejection(worker.close({ deadline: 50 }));
  expect(err.name).toBe('DeadlineExceededError');
  expect(err.message).toMatch(/1 handlers still running/);
  stuck.resolve();
  await worker.close();
  expect((await stats()).ackedTotal).toBe(1);
});

test('a handler may settle its message itself; the worker then leaves it', async () => {
  const worker = client.consume('q', (m) => m.nack({ delay: 60_000 }), { onError });
  await client.enqueue('q', 'given back');
  await statsUntil((s) => s.nackedTotal === 1, 'the nack');
  expect(await stats()).toMatchObject({ ackedTotal: 0, delayed: 1 });
  await worker.close();
  expect(errors).toEqual([]);
});

test('a worker started before its queue exists reports it and starts once the queue is there', async () => {
  const seen: string[] = [];
  const worker = client.consume(
    'later',
    (m) => {
      seen.push(m.text());
      changed.notify();
    },
    { onError },
  );
  await changed.until(() => errors.length >= 1, 'the first error');
  expect(errors[0].error).toBeInstanceOf(QueueNotFoundError);
  expect(errors[0].event).toMatchObject({ kind: 'connection', queue: 'later', retryIn: expect.any(Number) });
  await client.createQueue('later');
  await client.enqueue('later', 'hello');
  t.clock.advance(100);
  await changed.until(() => seen.length === 1 || errors.length > 1, 'the message');
  expect(seen).toEqual(['hello']);
  await worker.close();
});

test('a wrong token stops the worker: done rejects with UnauthenticatedError', async () => {
  await t.close();
  t = await startTestServer({ config: (c) => (c.authToken = 'right') });
  const wrong = connect({ token: 'wrong' });
  const worker = wrong.consume('q', () => {}, { onError });
  expect(await rejection(worker.done)).toBeInstanceOf(UnauthenticatedError);
  expect(errors.map((e) => e.event.kind)).toEqual(['connection']);
  await wrong.close();
});

test('aborting the signal closes the worker', async () => {
  const ac = new AbortController();
  const worker = client.consume('q', () => {}, { signal: ac.signal });
  ac.abort(); // in the same turn as the stream was opened: its cancellation must still reach the server
  await worker.done;
  await statsUntil((s) => s.consumers === 0, 'the stream to close');
  await client.enqueue('q', 'untouched');
  expect(await stats()).toMatchObject({ ready: 1, consumers: 0 });
});
