/**
 * The original CoraMQ's four documented calls (../shared/seeds/000_7ddd45a83594967f.txt),
 * replayed against a real server: status, headers and body byte for byte. The clock is
 * set so the lease ends at the seed's own visibilityTimeout, 2024-10-07T12:45:00Z, which
 * makes every body deterministic.
 */
import { ManualClock } from '../support/manual-clock';
import { startHttpTestServer, type HttpReply, type HttpTestServer } from '../support/http';

let t: HttpTestServer;
beforeEach(async () => {
  t = await startHttpTestServer({ clock: new ManualClock(Date.parse('2024-10-07T12:44:50Z')) });
});
afterEach(async () => {
  await t.close();
});

const PAYLOAD = "{'name': 'Lorem Ipsum', 'email': 'loremipsum@gmail.com'}";

/** Every header of a reply but Date (whose value is the wall clock), and checks Date's form. */
function headersOf(reply: HttpReply): Record<string, string> {
  const all = Object.fromEntries(reply.headers.entries());
  expect(all.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  delete all.date;
  return all;
}

function expectExactly(reply: HttpReply, status: number, body: string): void {
  expect(reply.status).toBe(status);
  expect(reply.text).toBe(body);
  expect(headersOf(reply)).toEqual({
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'keep-alive',
    'keep-alive': 'timeout=72',
  });
}

test('the seed session: create, enqueue, dequeue, acknowledge, byte for byte', async () => {
  expectExactly(
    await t.http('POST', '/queues', { queueName: 'High-priority' }),
    201,
    '{"status":"success","message":"Queue created successfully","queueName":"High-priority"}',
  );
  expectExactly(
    await t.http('POST', '/queues/High-priority/enqueue', { item: { id: '3', payload: PAYLOAD, priority: 5 } }),
    201,
    `{"status":"success","message":"Item enqueued successfully","item":{"id":"3","payload":"${PAYLOAD}","priority":5}}`,
  );
  expectExactly(
    await t.http('POST', '/queues/High-priority/dequeue', { queueName: 'queueName' }),
    200,
    `{"status":"success","message":"Item dequeued successfully","item":{"id":"3","payload":"${PAYLOAD}","priority":5,"visibilityTimeout":"2024-10-07T12:45:00Z"}}`,
  );
  expectExactly(
    await t.http('POST', '/queues/High-priority/acknowledge', { itemId: '3' }),
    200,
    '{"status":"success","message":"Item acknowledged successfully","itemId":"3"}',
  );
});

test("the seed's two error replies: the queue exists (400), the item is not in flight (404)", async () => {
  await t.http('POST', '/queues', { queueName: 'High-priority' });
  const exists = await t.http('POST', '/queues', { queueName: 'High-priority' });
  expect(exists.status).toBe(400);
  expect(exists.text).toBe('{"status":"error","message":"Queue with the given name already exists","queueName":"High-priority"}');
  expect(headersOf(exists)).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'coramq-error-code': 'QUEUE_EXISTS' });

  const notInFlight = await t.http('POST', '/queues/High-priority/acknowledge', { itemId: '3' });
  expect(notInFlight.status).toBe(404);
  expect(notInFlight.text).toBe('{"status":"error","message":"Item not found in the in-flight queue","itemId":"3"}');
  expect(headersOf(notInFlight)).toMatchObject({ 'coramq-error-code': 'MESSAGE_NOT_IN_FLIGHT' });
});

test('a lease that does not end on a whole second keeps its milliseconds (never rounded down)', async () => {
  t.clock.advance(250);
  await t.http('POST', '/queues', { queueName: 'q' });
  await t.http('POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'x' } });
  const reply = await t.http('POST', '/queues/q/dequeue');
  expect(reply.json.item.visibilityTimeout).toBe('2024-10-07T12:45:00.25Z');
  expect(Date.parse(reply.json.item.visibilityTimeout)).toBe(t.clock.now() + 10_000);
});
