/**
 * Every method of CoraMQClient against a real server on port 0 (its clock is manual: tests
 * move time instead of sleeping), and every error class mapped from the status the server
 * really sends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { status } from '@grpc/grpc-js';
import {
  CancelledError,
  CoraMQClient,
  CoraMQError,
  DeadlineExceededError,
  InvalidArgumentError,
  InvalidReceiptError,
  MessageNotFoundError,
  QueueExistsError,
  QueueInUseError,
  QueueNotFoundError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from '../src';
import { startTestServer, type TestServer } from '../../test/support/server';
import { eventually, rejection } from './support';

let t: TestServer;
let client: CoraMQClient;
beforeEach(async () => {
  t = await startTestServer();
  client = new CoraMQClient(t.server.address, { clock: t.clock });
});
afterEach(async () => {
  await client.close();
  await t.close();
});

describe('admin', () => {
  test('createQueue returns the queue with its config applied; getQueue and listQueues see it', async () => {
    const created = await client.createQueue('jobs', { visibilityTimeout: 45_000, maxDeliveries: 3 });
    expect(created).toMatchObject({ name: 'jobs', config: { visibilityTimeout: 45_000, maxDeliveries: 3, deadLetterQueue: '', maxDepth: 10_000_000 } });
    expect(created.createdAt.getTime()).toBe(t.clock.now());
    await client.createQueue('another');
    expect((await client.getQueue('jobs')).stats).toEqual({
      ready: 0, delayed: 0, inFlight: 0, oldestReadyAge: 0, enqueuedTotal: 0, deliveredTotal: 0,
      ackedTotal: 0, nackedTotal: 0, expiredTotal: 0, deadLetteredTotal: 0, consumers: 0,
    });
    expect((await client.listQueues()).map((q) => q.name)).toEqual(['another', 'jobs']);
  });

  test('listQueues follows every page', async () => {
    for (let i = 0; i < 1005; i++) t.server.broker.createQueue(`q${String(i).padStart(4, '0')}`, {});
    const all = await client.listQueues();
    expect(all).toHaveLength(1005);
    expect(all[1004].name).toBe('q1004');
  });

  test('purgeQueue drops ready and delayed messages and says how many; deleteQueue removes the queue', async () => {
    await client.createQueue('jobs');
    await Promise.all([client.enqueue('jobs', 'a'), client.enqueue('jobs', 'b'), client.enqueue('jobs', 'c', { delay: 60_000 })]);
    expect(await client.purgeQueue('jobs')).toBe(3);
    expect((await client.getQueue('jobs')).stats).toMatchObject({ ready: 0, delayed: 0 });
    await client.deleteQueue('jobs');
    expect(await client.listQueues()).toEqual([]);
  });
});

describe('enqueue and receive', () => {
  beforeEach(() => client.createQueue('q'));

  test('payloads: Buffer, Uint8Array, string and JSON arrive as sent; text() and json() read them', async () => {
    await client.enqueue('q', Buffer.from([0, 1, 2, 255]), { id: 'buf', priority: 9 });
    await client.enqueue('q', new Uint8Array([7, 8, 9]).subarray(1), { id: 'u8', priority: 8 });
    await client.enqueue('q', 'héllo', { id: 'str', priority: 7 });
    await client.enqueue('q', { to: 'ada@example.com', n: [1, 2] }, { id: 'json', priority: 6, attributes: { kind: 'welcome' } });
    const got = await client.receive('q', { max: 10 });
    expect(got.map((m) => m.id)).toEqual(['buf', 'u8', 'str', 'json']);
    expect([...got[0].payload]).toEqual([0, 1, 2, 255]);
    expect([...got[1].payload]).toEqual([8, 9]);
    expect(got[2].text()).toBe('héllo');
    expect(got[3].json()).toEqual({ to: 'ada@example.com', n: [1, 2] });
    expect(got[3]).toMatchObject({ queue: 'q', priority: 6, deliveryCount: 1, attributes: { kind: 'welcome' } });
    expect(got[3].enqueuedAt.getTime()).toBe(t.clock.now());
    expect(got[3].visibleAt.getTime()).toBe(t.clock.now() + 10_000);
  });

  test('a received message shows its fields in JSON and console.log, and not the client it came through', async () => {
    await client.enqueue('q', 'body', { id: 'm-1', priority: 4, attributes: { k: 'v' } });
    const [m] = await client.receive('q');
    const fields = { id: 'm-1', queue: 'q', priority: 4, attributes: { k: 'v' }, deliveryCount: 1, receipt: m.receipt };
    expect(m.receipt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.parse(JSON.stringify(m))).toEqual({ ...fields, payload: { type: 'Buffer', data: [...Buffer.from('body')] } });
    const shown = inspect(m);
    expect(shown).toMatch(/^ReceivedMessage \{/);
    for (const text of ["id: 'm-1'", "queue: 'q'", 'priority: 4', "attributes: { k: 'v' }", 'deliveryCount: 1', `receipt: '${m.receipt}'`, 'payload: <Buffer 62 6f 64 79>']) expect(shown).toContain(text);
    expect(shown).not.toMatch(/conn|acker|Connection/);
    expect(inspect({ m }, { depth: 0 })).toBe('{ m: [ReceivedMessage] }'); // nested below the depth asked for
    expect(inspect([m], { depth: 1 })).toContain("attributes: [Object]");
    expect(m.payload).toBe(m.payload); // one view, not a new one per read
  });

  test('enqueue answers the id, made by the server when not given; a live id is a duplicate', async () => {
    const made = await client.enqueue('q', 'x');
    expect(made).toEqual({ id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), duplicate: false });
    expect(await client.enqueue('q', 'y', { id: 'order-1' })).toEqual({ id: 'order-1', duplicate: false });
    expect(await client.enqueue('q', 'z', { id: 'order-1' })).toEqual({ id: 'order-1', duplicate: true });
    expect((await client.getQueue('q')).stats.ready).toBe(2);
  });

  test('a delayed message is not received before its delay is over', async () => {
    await client.enqueue('q', 'later', { delay: 5_000 });
    expect(await client.receive('q')).toEqual([]);
    t.clock.advance(5_000);
    expect((await client.receive('q')).map((m) => m.text())).toEqual(['later']);
  });

  test('enqueueBatch: one call, results in order, each entry on its own', async () => {
    const res = await client.enqueueBatch('q', [
      { payload: 'a', id: 'a' },
      { payload: 'b', id: 'bad id' },
      { payload: 'c', id: 'a' },
      { payload: 'd', priority: 3 },
    ]);
    expect(res[0]).toEqual({ ok: true, id: 'a', duplicate: false });
    expect(res[1]).toMatchObject({ ok: false, error: expect.any(InvalidArgumentError) });
    expect(res[2]).toEqual({ ok: true, id: 'a', duplicate: true });
    expect(res[3]).toMatchObject({ ok: true, duplicate: false });
    expect((await client.receive('q', { max: 5 })).map((m) => m.text())).toEqual(['d', 'a']);
  });

  test('enqueueBatch: messages that name their own queue go there; a missing queue fails only its entry', async () => {
    await client.createQueue('other');
    const res = await client.enqueueBatch('q', [{ payload: 'a' }, { payload: 'b', queue: 'other' }, { payload: 'c', queue: 'missing' }, { payload: 'd', queue: 'q' }]);
    expect(res.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(res[2]).toMatchObject({ ok: false, error: expect.any(QueueNotFoundError) });
    expect((await client.receive('q', { max: 5 })).map((m) => m.text())).toEqual(['a', 'd']);
    expect((await client.receive('other', { max: 5 })).map((m) => m.text())).toEqual(['b']);
  });

  test('receive waits up to `wait` for a first message and returns as soon as there is one', async () => {
    const polling = client.receive('q', { max: 5, wait: 30_000 });
    await client.enqueue('q', 'first');
    const got = await polling;
    expect(got.map((m) => m.text())).toEqual(['first']);
    const empty = client.receive('q', { wait: 1_000 });
    await eventually(async () => (await client.getQueue('q')).stats.consumers === 1, 'the stream to open');
    t.clock.advance(1_000);
    expect(await empty).toEqual([]);
  });

  test('receive with visibilityTimeout leases for that long; nack gives back with a delay; extendVisibility moves the end', async () => {
    await client.enqueue('q', 'm', { id: 'm' });
    const [m] = await client.receive('q', { visibilityTimeout: 2_000 });
    expect(m.visibleAt.getTime()).toBe(t.clock.now() + 2_000);
    expect((await m.extendVisibility(60_000)).getTime()).toBe(t.clock.now() + 60_000);
    expect(m.visibleAt.getTime()).toBe(t.clock.now() + 60_000);
    t.clock.advance(2_000);
    expect(await client.receive('q')).toEqual([]); // still leased: the extension held
    expect(await m.nack({ delay: 3_000 })).toEqual({ deadLettered: false });
    expect(await client.receive('q')).toEqual([]);
    t.clock.advance(3_000);
    const [again] = await client.receive('q');
    expect(again).toMatchObject({ id: 'm', deliveryCount: 2 });
    await again.ack();
    expect((await client.getQueue('q')).stats).toMatchObject({ ready: 0, inFlight: 0, ackedTotal: 1, nackedTotal: 1 });
  });

  test('a message settles once: a second ack is the same ack; ack after nack is refused', async () => {
    await client.enqueue('q', 'a');
    await client.enqueue('q', 'b');
    const [a, b] = await client.receive('q', { max: 2 });
    const first = a.ack();
    expect(a.ack()).toBe(first);
    await first;
    expect(a.settled).toBe(true);
    expect(a.ack()).toBe(first);
    expect(await rejection(a.nack())).toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringMatching(/was acked already/) });
    await b.nack();
    const err = await rejection(b.ack());
    expect(err).toBeInstanceOf(CoraMQError);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(err.message).toMatch(/was nacked already/);
  });

  test('nack of a message out of deliveries dead-letters it', async () => {
    await client.createQueue('dlq');
    await client.createQueue('once', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    await client.enqueue('once', 'poison');
    const [m] = await client.receive('once');
    expect(await m.nack()).toEqual({ deadLettered: true });
    const [dead] = await client.receive('dlq');
    expect(dead.text()).toBe('poison');
    expect(dead.attributes['coramq.dead-letter.reason']).toBe('nacked');
  });
});

describe('subscribe', () => {
  beforeEach(() => client.createQueue('q'));

  test('yields messages as they arrive, in priority order, at most maxInFlight unsettled', async () => {
    for (let i = 0; i < 6; i++) await client.enqueue('q', `m${i}`, { priority: i % 3 });
    const sub = client.subscribe('q', { maxInFlight: 2 });
    const seen: string[] = [];
    for await (const m of sub) {
      seen.push(m.text());
      expect((await client.getQueue('q')).stats.inFlight).toBeLessThanOrEqual(2);
      await m.ack();
      if (seen.length === 6) break;
    }
    expect(seen).toEqual(['m2', 'm5', 'm1', 'm4', 'm0', 'm3']);
    await eventually(async () => (await client.getQueue('q')).stats.consumers === 0, 'the stream to close');
    expect((await client.getQueue('q')).stats.ackedTotal).toBe(6);
  });

  test('close() ends the loop and nacks what the loop had not taken, so it is delivered again (after 1 ms)', async () => {
    for (let i = 0; i < 5; i++) await client.enqueue('q', `m${i}`);
    const sub = client.subscribe('q', { maxInFlight: 5 });
    const it = sub[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    await first.ack();
    await sub.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect((await client.getQueue('q')).stats).toMatchObject({ delayed: 4, inFlight: 0, ackedTotal: 1, nackedTotal: 4 });
    t.clock.advance(1);
    expect((await client.getQueue('q')).stats).toMatchObject({ ready: 4, delayed: 0 });
  });

  test('a subscription closed in the turn it was opened leaves no stream on the server', async () => {
    const subs = Array.from({ length: 5 }, () => client.subscribe('q'));
    await Promise.all(subs.map((s) => s.close()));
    await eventually(async () => (await client.getQueue('q')).stats.consumers === 0, 'the streams to go');
    await client.enqueue('q', 'for nobody');
    expect((await client.getQueue('q')).stats).toMatchObject({ ready: 1, inFlight: 0, consumers: 0 });
  });

  test('aborting the signal ends the loop quietly', async () => {
    const ac = new AbortController();
    const sub = client.subscribe('q', { signal: ac.signal });
    const loop = (async () => {
      const got: string[] = [];
      for await (const m of sub) got.push(m.text());
      return got;
    })();
    await client.enqueue('q', 'one');
    await eventually(async () => (await client.getQueue('q')).stats.inFlight === 1, 'the delivery');
    ac.abort();
    expect(await loop).toEqual(['one']);
  });

  test('a subscription to a queue that does not exist throws QueueNotFoundError from the loop', async () => {
    const err = await rejection((async () => {
      for await (const _ of client.subscribe('nope')) void _;
    })());
    expect(err).toBeInstanceOf(QueueNotFoundError);
  });
});

describe('errors: each class from the status the server sends', () => {
  test('QueueNotFoundError (also for a batched enqueue and a missing dead-letter queue), QueueExistsError, QueueInUseError', async () => {
    const nf = await rejection(client.getQueue('nope'));
    expect(nf).toBeInstanceOf(QueueNotFoundError);
    expect(nf).toMatchObject({ code: status.NOT_FOUND, reason: 'QUEUE_NOT_FOUND', message: "queue 'nope' does not exist", name: 'QueueNotFoundError' });
    const [e1, e2] = await Promise.all([rejection(client.enqueue('nope', 'a')), rejection(client.enqueue('nope', 'b'))]);
    expect(e1).toBeInstanceOf(QueueNotFoundError);
    expect(e2).toBeInstanceOf(QueueNotFoundError);
    expect(await rejection(client.createQueue('q', { deadLetterQueue: 'missing' }))).toMatchObject({ reason: 'DEAD_LETTER_QUEUE_NOT_FOUND', name: 'QueueNotFoundError' });
    await client.createQueue('dlq');
    await client.createQueue('q', { deadLetterQueue: 'dlq' });
    expect(await rejection(client.createQueue('q'))).toMatchObject({ code: status.ALREADY_EXISTS, reason: 'QUEUE_EXISTS', name: 'QueueExistsError' });
    expect(await rejection(client.deleteQueue('dlq'))).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'QUEUE_IN_USE', name: 'QueueInUseError' });
    expect(await rejection(client.deleteQueue('dlq'))).toBeInstanceOf(QueueInUseError);
  });

  test('MessageNotFoundError once the lease expired; InvalidReceiptError once it was delivered again', async () => {
    await client.createQueue('q', { visibilityTimeout: 1_000 });
    await client.enqueue('q', 'm', { id: 'm' });
    const [first] = await client.receive('q');
    t.clock.advance(1_000);
    const gone = await rejection(first.ack());
    expect(gone).toBeInstanceOf(MessageNotFoundError);
    expect(first.settled).toBe(false); // a failed ack leaves it unsettled
    expect(gone).toMatchObject({ code: status.NOT_FOUND, reason: 'MESSAGE_NOT_IN_FLIGHT' });
    expect(await rejection(first.extendVisibility(5_000))).toBeInstanceOf(MessageNotFoundError);
    const [second] = await client.receive('q');
    const stale = await rejection(first.ack());
    expect(stale).toBeInstanceOf(InvalidReceiptError);
    expect(stale).toMatchObject({ code: status.FAILED_PRECONDITION, reason: 'STALE_RECEIPT' });
    expect(await rejection(first.nack())).toBeInstanceOf(InvalidReceiptError);
    await second.ack();
  });

  test('InvalidArgumentError for bad names, ids and attributes, and for bad values caught before sending', async () => {
    expect(await rejection(client.createQueue('no spaces'))).toMatchObject({ name: 'InvalidArgumentError', reason: 'INVALID_QUEUE_NAME' });
    await client.createQueue('q');
    expect(await rejection(client.enqueue('q', 'x', { attributes: { 'coramq.mine': 'v' } }))).toMatchObject({ name: 'InvalidArgumentError', reason: 'INVALID_ARGUMENT' });
    expect(await rejection(client.enqueue('q', Buffer.alloc(256 * 1024 + 1)))).toMatchObject({ name: 'InvalidArgumentError', reason: 'PAYLOAD_TOO_LARGE' });
    expect(await rejection(client.enqueue('q', 'x', { delay: -1 }))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(client.enqueue('q', undefined as never))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(client.receive('q', { max: 0 }))).toBeInstanceOf(InvalidArgumentError);
  });

  test('ResourceExhaustedError when the queue is full', async () => {
    await client.createQueue('small', { maxDepth: 1 });
    await client.enqueue('small', 'a');
    expect(await rejection(client.enqueue('small', 'b'))).toMatchObject({ name: 'ResourceExhaustedError', code: status.RESOURCE_EXHAUSTED, reason: 'QUEUE_FULL' });
    expect(await rejection(client.enqueue('small', 'b'))).toBeInstanceOf(ResourceExhaustedError);
  });

  test('UnavailableError when the server shuts down under a long poll', async () => {
    await client.createQueue('q');
    const polling = rejection(client.receive('q', { wait: 60_000 }));
    await eventually(async () => (await client.getQueue('q')).stats.consumers === 1, 'the stream to open');
    await t.server.close();
    const err = await polling;
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: status.UNAVAILABLE, reason: 'SHUTTING_DOWN' });
  });

  test('DeadlineExceededError when no server answers in time; CancelledError when the signal aborts', async () => {
    const nobody = new CoraMQClient('127.0.0.1:1', { deadline: 200 });
    const late = await rejection(nobody.listQueues());
    expect(late).toBeInstanceOf(DeadlineExceededError);
    expect(late.code).toBe(status.DEADLINE_EXCEEDED);
    const ac = new AbortController();
    const pending = rejection(nobody.getQueue('q', { signal: ac.signal, deadline: Infinity }));
    const reason = new Error('shutting down');
    ac.abort(reason);
    const cancelled = await pending;
    expect(cancelled).toBeInstanceOf(CancelledError);
    expect(cancelled.cause).toBe(reason);
    expect(await rejection(nobody.enqueue('q', 'x', { signal: AbortSignal.abort() }))).toBeInstanceOf(CancelledError);
    await nobody.close();
  });

  test('ready() resolves once connected; with no server it rejects at its deadline, or when its signal aborts', async () => {
    const fresh = new CoraMQClient(t.server.address);
    await fresh.ready();
    expect((await fresh.listQueues()).map((q) => q.name)).toEqual([]);
    await fresh.close();
    expect(await rejection(fresh.ready())).toMatchObject({ code: status.CANCELLED, message: 'the client is closed' });

    const nobody = new CoraMQClient('127.0.0.1:1', { deadline: 200 });
    const late = await rejection(nobody.ready());
    expect(late).toBeInstanceOf(DeadlineExceededError);
    expect(late.message).toMatch(/could not connect to 127\.0\.0\.1:1 in time/);
    const ac = new AbortController();
    const pending = rejection(nobody.ready({ signal: ac.signal, deadline: Infinity }));
    ac.abort(new Error('stop'));
    expect(await pending).toBeInstanceOf(CancelledError);
    await nobody.close();
  });

  test('a long poll is cancelled by its signal', async () => {
    await client.createQueue('q');
    const ac = new AbortController();
    const polling = rejection(client.receive('q', { wait: 60_000, signal: ac.signal }));
    await eventually(async () => (await client.getQueue('q')).stats.consumers === 1, 'the stream to open');
    ac.abort();
    expect(await polling).toBeInstanceOf(CancelledError);
  });
});

describe('auth and TLS', () => {
  test('UnauthenticatedError without the token; calls with it work', async () => {
    const secured = await startTestServer({ config: (c) => (c.authToken = 's3cret') });
    const anonymous = new CoraMQClient(secured.server.address);
    const withToken = new CoraMQClient(secured.server.address, { token: 's3cret' });
    try {
      const err = await rejection(anonymous.listQueues());
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'UNAUTHENTICATED' });
      await withToken.createQueue('q');
      await withToken.enqueue('q', 'secret work');
      expect((await withToken.receive('q'))[0].text()).toBe('secret work');
    } finally {
      await Promise.all([anonymous.close(), withToken.close()]);
      await secured.close();
    }
  });

  test('TLS with a given root certificate', async () => {
    const { cert, key, dir } = selfSignedCert();
    const tls = await startTestServer({ config: (c) => ((c.tlsCert = cert), (c.tlsKey = key), (c.host = '127.0.0.1')) });
    const secure = new CoraMQClient(`localhost:${tls.server.port}`, { tls: { ca: readFileSync(cert) } });
    const plaintext = new CoraMQClient(`localhost:${tls.server.port}`, { deadline: 500 });
    try {
      await secure.createQueue('q');
      expect((await secure.listQueues()).map((q) => q.name)).toEqual(['q']);
      expect(await rejection(plaintext.listQueues())).toBeInstanceOf(CoraMQError);
    } finally {
      await Promise.all([secure.close(), plaintext.close()]);
      await tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('calls after close() fail; close() waits for calls under way', async () => {
  await client.createQueue('q');
  const pending = client.enqueue('q', 'sent before close');
  await client.close();
  expect(await pending).toMatchObject({ duplicate: false });
  expect(() => client.subscribe('q')).toThrow(/closed/);
  expect(await rejection(client.enqueue('q', 'too late'))).toMatchObject({ name: 'CoraMQError', message: 'the client is closed' });
  expect(await rejection(client.getQueue('q'))).toMatchObject({ message: 'the client is closed' });
  client = new CoraMQClient(t.server.address, { clock: t.clock });
  expect((await client.getQueue('q')).stats.ready).toBe(1);
});

function selfSignedCert(): { cert: string; key: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'coramq-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key, dir };
}
