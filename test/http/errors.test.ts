/**
 * Every error reply of the HTTP API through a real server: its status, that it is JSON
 * `{"status":"error","message":...}` with a message a person understands, and the
 * catalogue code in the `coramq-error-code` header (none for errors of HTTP itself).
 * Then a property: no body sent to any route gets a 5xx or anything but JSON.
 */
import fc from 'fast-check';
import { createQueue } from '../support/wire';
import { rawExchange, startHttpTestServer, until, type HttpReply, type HttpTestServer } from '../support/http';

let t: HttpTestServer;
beforeAll(async () => {
  t = await startHttpTestServer({
    config: (c) => {
      c.limits.maxPayloadBytes = 1024;
      c.httpMaxBodyBytes = 4096;
      c.limits.maxConsumersPerQueue = 1;
    },
  });
  await t.http('POST', '/queues', { queueName: 'q' });
  await createQueue(t, 'full', { maxDepth: 1 });
  await t.http('POST', '/queues/full/enqueue', { item: { payload: 'x' } });
});
afterAll(async () => {
  await t.close();
});

function expectError(reply: HttpReply, status: number, message: RegExp | string, code: string | null): void {
  expect({ status: reply.status, contentType: reply.headers.get('content-type') }).toEqual({ status, contentType: 'application/json; charset=utf-8' });
  expect(reply.json).toMatchObject({ status: 'error' });
  if (typeof message === 'string') expect(reply.json.message).toBe(message);
  else expect(reply.json.message).toMatch(message);
  expect(reply.headers.get('coramq-error-code')).toBe(code);
}

const JSON_TYPE = { 'content-type': 'application/json' };
const longId = 'i'.repeat(129);

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: RegExp | string;
  code: string | null;
  /** Exact body, where the original CoraMQ fixed it. */
  exact?: object;
}

const cases: Case[] = [
  // create
  { name: 'create: the queue exists', method: 'POST', path: '/queues', body: { queueName: 'q' }, status: 400, message: 'Queue with the given name already exists', code: 'QUEUE_EXISTS', exact: { status: 'error', message: 'Queue with the given name already exists', queueName: 'q' } },
  { name: 'create: invalid name', method: 'POST', path: '/queues', body: { queueName: 'a b' }, status: 400, message: /queue name 'a b' is invalid: use 1-80 characters/, code: 'INVALID_QUEUE_NAME' },
  { name: 'create: empty name', method: 'POST', path: '/queues', body: { queueName: '' }, status: 400, message: /queue name is empty/, code: 'INVALID_QUEUE_NAME' },
  { name: 'create: name too long', method: 'POST', path: '/queues', body: { queueName: 'n'.repeat(81) }, status: 400, message: /is invalid: use 1-80 characters/, code: 'INVALID_QUEUE_NAME' },
  { name: 'create: queueName missing', method: 'POST', path: '/queues', body: {}, status: 400, message: "request body must have the field 'queueName'", code: 'INVALID_ARGUMENT' },
  { name: 'create: queueName not a string', method: 'POST', path: '/queues', body: { queueName: 7 }, status: 400, message: 'queueName must be string', code: 'INVALID_ARGUMENT' },
  { name: 'create: no body', method: 'POST', path: '/queues', status: 400, message: 'request body must be a JSON object', code: 'INVALID_ARGUMENT' },
  { name: 'create: empty JSON body', method: 'POST', path: '/queues', body: '', headers: JSON_TYPE, status: 400, message: 'request body must be a JSON object', code: 'INVALID_ARGUMENT' },
  { name: 'create: body is an array', method: 'POST', path: '/queues', body: [], status: 400, message: 'request body must be a JSON object', code: 'INVALID_ARGUMENT' },
  { name: 'create: body is a string', method: 'POST', path: '/queues', body: '"q"', headers: JSON_TYPE, status: 400, message: 'request body must be a JSON object', code: 'INVALID_ARGUMENT' },
  // malformed bodies, for any route
  { name: 'malformed JSON', method: 'POST', path: '/queues', body: '{"queueName": ', headers: JSON_TYPE, status: 400, message: /^request body is not valid JSON: .+/, code: 'INVALID_ARGUMENT' },
  { name: 'malformed JSON sent as text/plain', method: 'POST', path: '/queues/q/enqueue', body: '{item}', headers: { 'content-type': 'text/plain' }, status: 400, message: /^request body is not valid JSON/, code: 'INVALID_ARGUMENT' },
  { name: 'a __proto__ key', method: 'POST', path: '/queues', body: '{"queueName":"p","__proto__":{"x":1}}', headers: JSON_TYPE, status: 400, message: /not valid JSON: it sets '__proto__'/, code: 'INVALID_ARGUMENT' },
  { name: 'a content type that is not JSON', method: 'POST', path: '/queues', body: '<queue/>', headers: { 'content-type': 'application/xml' }, status: 415, message: "Content-Type 'application/xml' is not supported: send JSON (application/json)", code: null },
  { name: 'multipart form data', method: 'POST', path: '/queues/q/acknowledge', body: '--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' }, status: 415, message: /is not supported: send JSON/, code: null },
  { name: 'a body over the limit', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 'x'.repeat(5000) } }, status: 413, message: 'request body is larger than 4096 bytes (--http-max-body-bytes)', code: null },
  // enqueue
  { name: 'enqueue: unknown queue', method: 'POST', path: '/queues/nope/enqueue', body: { item: { payload: 'x' } }, status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'enqueue: invalid queue name', method: 'POST', path: '/queues/b%20d/enqueue', body: { item: { payload: 'x' } }, status: 400, message: /queue name 'b d' is invalid/, code: 'INVALID_QUEUE_NAME' },
  { name: 'enqueue: item missing', method: 'POST', path: '/queues/q/enqueue', body: { payload: 'x' }, status: 400, message: "request body must have the field 'item'", code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: item not an object', method: 'POST', path: '/queues/q/enqueue', body: { item: 'x' }, status: 400, message: 'item must be object', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: payload missing', method: 'POST', path: '/queues/q/enqueue', body: { item: { id: '1' } }, status: 400, message: "item must have the field 'payload'", code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: payload not a string', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: { a: 1 } } }, status: 400, message: 'item.payload must be string', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: payload a number (no coercion)', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 12 } }, status: 400, message: 'item.payload must be string', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: priority a string (no coercion)', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 'x', priority: '5' } }, status: 400, message: 'item.priority must be integer', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: priority a fraction', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 'x', priority: 1.5 } }, status: 400, message: 'item.priority must be integer', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: priority beyond int32', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 'x', priority: 2 ** 31 } }, status: 400, message: 'item.priority must be <= 2147483647', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: id not a string', method: 'POST', path: '/queues/q/enqueue', body: { item: { id: 3, payload: 'x' } }, status: 400, message: 'item.id must be string', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: id with a space', method: 'POST', path: '/queues/q/enqueue', body: { item: { id: 'a b', payload: 'x' } }, status: 400, message: /message id 'a b' is invalid: use 1-128 printable ASCII/, code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: id too long', method: 'POST', path: '/queues/q/enqueue', body: { item: { id: longId, payload: 'x' } }, status: 400, message: /is invalid: use 1-128 printable ASCII/, code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: payload over the limit', method: 'POST', path: '/queues/q/enqueue', body: { item: { payload: 'é'.repeat(513) } }, status: 400, message: 'payload is 1026 bytes; the limit is 1024 bytes (--max-payload-bytes)', code: 'PAYLOAD_TOO_LARGE' },
  { name: 'enqueue: payload with a lone surrogate', method: 'POST', path: '/queues/q/enqueue', body: '{"item":{"payload":"a\\ud800b"}}', headers: JSON_TYPE, status: 400, message: 'item.payload is not well-formed Unicode: it has a lone surrogate', code: 'INVALID_ARGUMENT' },
  { name: 'enqueue: the queue is full', method: 'POST', path: '/queues/full/enqueue', body: { item: { payload: 'y' } }, status: 429, message: /queue 'full' is full: it holds 1 messages, its max_depth/, code: 'QUEUE_FULL' },
  // dequeue
  { name: 'dequeue: unknown queue', method: 'POST', path: '/queues/nope/dequeue', status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'dequeue: nothing visible', method: 'POST', path: '/queues/q/dequeue', body: { queueName: 'q' }, status: 404, message: 'No visible items available in the queue', code: null, exact: { status: 'error', message: 'No visible items available in the queue' } },
  { name: 'dequeue: wait not a number', method: 'POST', path: '/queues/q/dequeue?wait=soon', status: 400, message: "wait is 'soon'; give a number of seconds, e.g. ?wait=20", code: 'INVALID_ARGUMENT' },
  { name: 'dequeue: negative wait', method: 'POST', path: '/queues/q/dequeue?wait=-1', status: 400, message: /wait is '-1'/, code: 'INVALID_ARGUMENT' },
  { name: 'dequeue: wait over 12 h', method: 'POST', path: '/queues/q/dequeue?wait=43201', status: 400, message: 'wait is longer than 12 h', code: 'INVALID_ARGUMENT' },
  { name: 'dequeue: wait given twice', method: 'POST', path: '/queues/q/dequeue?wait=1&wait=2', status: 400, message: 'wait must be string', code: 'INVALID_ARGUMENT' },
  { name: 'dequeue: malformed body', method: 'POST', path: '/queues/q/dequeue', body: '{', headers: JSON_TYPE, status: 400, message: /not valid JSON/, code: 'INVALID_ARGUMENT' },
  // acknowledge
  { name: 'ack: not in flight', method: 'POST', path: '/queues/q/acknowledge', body: { itemId: '3' }, status: 404, message: 'Item not found in the in-flight queue', code: 'MESSAGE_NOT_IN_FLIGHT', exact: { status: 'error', message: 'Item not found in the in-flight queue', itemId: '3' } },
  { name: 'ack by path: not in flight', method: 'POST', path: '/queues/q/acknowledge/3', status: 404, message: 'Item not found in the in-flight queue', code: 'MESSAGE_NOT_IN_FLIGHT', exact: { status: 'error', message: 'Item not found in the in-flight queue', itemId: '3' } },
  { name: 'ack: unknown queue', method: 'POST', path: '/queues/nope/acknowledge', body: { itemId: '3' }, status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'ack by path: unknown queue', method: 'POST', path: '/queues/nope/acknowledge/3', status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'ack: itemId missing', method: 'POST', path: '/queues/q/acknowledge', body: { id: '3' }, status: 400, message: "request body must have the field 'itemId'", code: 'INVALID_ARGUMENT' },
  { name: 'ack: itemId a number', method: 'POST', path: '/queues/q/acknowledge', body: { itemId: 3 }, status: 400, message: 'itemId must be string', code: 'INVALID_ARGUMENT' },
  { name: 'ack: itemId empty', method: 'POST', path: '/queues/q/acknowledge', body: { itemId: '' }, status: 400, message: 'message id is empty', code: 'INVALID_ARGUMENT' },
  { name: 'ack by path: id too long', method: 'POST', path: `/queues/q/acknowledge/${longId}`, status: 400, message: /is invalid: use 1-128 printable ASCII/, code: 'INVALID_ARGUMENT' },
  // scan and queue info
  { name: 'scan: unknown queue', method: 'GET', path: '/queues/nope/scan', status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'get queue: unknown queue', method: 'GET', path: '/queues/nope', status: 404, message: 'Queue not found', code: 'QUEUE_NOT_FOUND', exact: { status: 'error', message: 'Queue not found', queueName: 'nope' } },
  { name: 'list: limit out of range', method: 'GET', path: '/queues?limit=0', status: 400, message: "limit is '0'; give a whole number from 1 to 1000", code: 'INVALID_ARGUMENT' },
  { name: 'list: invalid after', method: 'GET', path: '/queues?after=a%20b', status: 400, message: /after 'a b' is invalid/, code: 'INVALID_QUEUE_NAME' },
  // routing and URLs
  { name: 'unknown route', method: 'GET', path: '/nothing/here', status: 404, message: 'no such endpoint: GET /nothing/here', code: null },
  { name: 'wrong method', method: 'GET', path: '/queues/q/enqueue', status: 404, message: 'no such endpoint: GET /queues/q/enqueue', code: null },
  { name: 'bad percent-encoding', method: 'GET', path: '/queues/%E0%A4%A/scan', status: 400, message: 'the URL is not valid (bad percent-encoding)', code: null },
];

test.each(cases)('$name: $status', async (c) => {
  const reply = await t.http(c.method, c.path, c.body, c.headers);
  expectError(reply, c.status, c.message, c.code);
  if (c.exact !== undefined) expect(reply.text).toBe(JSON.stringify(c.exact));
});

test('too many consumers: a second dequeue while one waits is 429, and nothing is lost', async () => {
  const waiting = t.http('POST', '/queues/q/dequeue?wait=60');
  await until(() => t.server.broker.queue('q').consumers.size === 1);
  expectError(await t.http('POST', '/queues/q/dequeue'), 429, /queue 'q' has 1 open streams, the limit per queue/, 'TOO_MANY_CONSUMERS');
  await t.http('POST', '/queues/q/enqueue', { item: { id: 'late', payload: 'p' } });
  expect((await waiting).json.item.id).toBe('late');
  await t.http('POST', '/queues/q/acknowledge/late');
});

test('a request Node cannot parse as HTTP gets a JSON 400, not an HTML page or a bare close', async () => {
  const raw = await rawExchange(t, 'THIS IS NOT HTTP\r\n\r\n');
  expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(raw).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
  expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe('{"status":"error","message":"malformed HTTP request"}');
});

test('property: any body to any route is answered with JSON and a 2xx or 4xx, never a 5xx', async () => {
  const routes = ['/queues', '/queues/q/enqueue', '/queues/q/dequeue', '/queues/q/acknowledge', '/queues/q/acknowledge/x'];
  const body = fc.oneof(
    fc.json(),
    fc.string(),
    fc.record({ queueName: fc.jsonValue() }),
    fc.record({ item: fc.record({ id: fc.jsonValue(), payload: fc.jsonValue(), priority: fc.jsonValue() }, { requiredKeys: [] }) }),
    fc.record({ itemId: fc.jsonValue() }),
  );
  const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.x+json', 'image/png');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), body, contentType, async (route, b, type) => {
      const reply = await t.http('POST', route, typeof b === 'string' ? b : JSON.stringify(b), { 'content-type': type });
      expect(reply.status).toBeLessThan(500);
      expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(['success', 'error']).toContain(reply.json.status);
      if (reply.status >= 400) expect(typeof reply.json.message).toBe('string');
    }),
    { numRuns: 300 },
  );
});
