/**
 * The response schemas (src/http/response-schemas.ts) against the handlers: every route
 * declares its replies; every declared reply, made by a real server, is byte for byte
 * JSON.stringify of the handler's object (so no field is dropped, renamed or reordered, and
 * every field of every shape is exercised); a field no schema lists does not leak; and, as a
 * property, the schemas write any item, stats or error exactly as JSON.stringify does.
 */
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import Fastify from 'fastify';
import { CoraError } from '../../src/errors';
import { RESPONSES, errorReply } from '../../src/http/response-schemas';
import type { Journal, Storage, StorageHealth } from '../../src/storage/journal';
import { NULL_JOURNAL } from '../../src/storage/memory-storage';
import { httpRequest, startHttpTestServer, until, type HttpTestServer } from '../support/http';
import { fieldsOf, ReplyCheck } from '../support/reply-check';
import { createQueue, enqueue as grpcEnqueue } from '../support/wire';

/** Memory storage whose health and commits the test sets. */
class SteeredStorage implements Storage {
  readonly kind = 'steered';
  readonly journal: Journal = NULL_JOURNAL;
  state: StorageHealth = { state: 'ok' };
  failCommits = false;
  health(): StorageHealth {
    return this.state;
  }
  onHealthChange(): void {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  commit(): Promise<void> | null {
    return this.failCommits ? Promise.reject(new CoraError('STORAGE_FAILED', 'storage failed to write: steered')) : null;
  }
}

/** The field paths a schema lists ('item.id'; arrays share their name; maps stop at the map). */
function schemaFields(schema: any, prefix = ''): string[] {
  if (schema.type === 'array') return schemaFields(schema.items, prefix);
  if (schema.properties === undefined) return [];
  return Object.entries(schema.properties).flatMap(([k, s]) => [`${prefix}${k}`, ...schemaFields(s, `${prefix}${k}.`)]);
}

/** Every object schema in `schema`, with its path. */
function objectSchemas(schema: any, path: string): [string, any][] {
  if (typeof schema !== 'object' || schema === null) return [];
  const here: [string, any][] = schema.properties !== undefined ? [[path, schema]] : [];
  const inner = Object.entries(schema.type === 'array' ? { '[]': schema.items } : (schema.properties ?? {}));
  return [...here, ...inner.flatMap(([k, s]) => objectSchemas(s, `${path}.${k}`))];
}

test('every object schema lists its required fields first, so it shows the order replies are written in', () => {
  const schemas = Object.entries(RESPONSES).flatMap(([route, response]) =>
    Object.entries(response).flatMap(([status, schema]) => objectSchemas(schema, `${route} ${status}`)),
  );
  expect(schemas.length).toBeGreaterThan(20);
  for (const [path, schema] of schemas) {
    const keys = Object.keys(schema.properties);
    const required: string[] = schema.required ?? [];
    expect({ path, order: keys }).toEqual({ path, order: [...keys.filter((k) => required.includes(k)), ...keys.filter((k) => !required.includes(k))] });
    expect({ path, unknownRequired: required.filter((k) => !keys.includes(k)) }).toEqual({ path, unknownRequired: [] });
  }
});

describe('through a real server', () => {
  let t: HttpTestServer;
  const storage = new SteeredStorage();
  beforeAll(async () => {
    t = await startHttpTestServer({ storage });
  });
  afterAll(async () => {
    await t.close(); // fails if any reply differed from JSON.stringify of its handler's object
  });

  test('every route declares a schema for each success status, and its errors in the one error shape', () => {
    const declared = new Map(t.replies.routes.map((r) => [r.route, r.response ?? {}]));
    expect([...declared.keys()].sort()).toEqual(Object.keys(RESPONSES).sort());
    for (const [route, response] of declared) {
      expect({ route, response }).toEqual({ route, response: RESPONSES[route as keyof typeof RESPONSES] });
      const errorKeys = Object.keys(response).filter((k) => !/^2\d\d$/.test(k));
      expect({ route, successes: Object.keys(response).length - errorKeys.length > 0, with5xx: errorKeys.includes('5xx') }).toEqual({
        route,
        successes: true,
        with5xx: true,
      });
      for (const k of errorKeys) expect({ route, k, oneErrorShape: response[k] === errorReply }).toEqual({ route, k, oneErrorShape: true });
    }
  });

  test('every declared reply of every route, with every field of its shape, is exactly what JSON.stringify of the handler writes', async () => {
    const http = t.http;
    // health: ok, disk-full, failed
    expect((await http('GET', '/health')).text).toBe('{"status":"success","message":"CoraMQ is serving","storage":"steered","storageState":"ok"}');
    storage.state = { state: 'disk-full', message: 'the disk is full (steered)' };
    expect((await http('GET', '/health')).text).toBe(
      '{"status":"success","message":"CoraMQ is serving; the disk is full (steered)","storage":"steered","storageState":"disk-full"}',
    );
    storage.state = { state: 'failed', message: 'storage failed: steered' };
    const failed = await http('GET', '/health');
    expect([failed.status, failed.text]).toEqual([503, '{"status":"error","message":"storage failed: steered"}']);
    storage.state = { state: 'ok' };

    // queues: create, exists, list (one page, two pages, bad limit), one queue, unknown queue
    expect((await http('POST', '/queues', { queueName: 'q' })).status).toBe(201);
    expect((await http('POST', '/queues', { queueName: 'q' })).status).toBe(400);
    await createQueue(t, 'r');
    expect((await http('GET', '/queues')).json.next).toBeNull();
    expect((await http('GET', '/queues?limit=1')).json.next).toBe('q');
    expect((await http('GET', '/queues?limit=0')).status).toBe(400);
    t.clock.advance(1_250);
    expect((await http('GET', '/queues/q')).status).toBe(200);
    expect((await http('GET', '/queues/nope')).status).toBe(404);

    // enqueue: new, duplicate, unknown queue; bytes that are not UTF-8 and attributes over gRPC
    expect((await http('POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'zoë "☃"\n', priority: -3 } })).status).toBe(201);
    expect((await http('POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'again' } })).status).toBe(200);
    expect((await http('POST', '/queues/nope/enqueue', { item: { payload: 'x' } })).status).toBe(404);
    await grpcEnqueue(t, 'q', { id: 'bin', payload: Buffer.from([0xff, 0x00, 0xfe]), priority: 9, attributes: { tenant: 'acme', '1': 'one' } });
    t.clock.advance(500);
    expect((await http('GET', '/queues/q')).json.stats.oldestReadyAgeSeconds).toBe(0.5);

    // scan, dequeue (an item with every optional field, one without, a long-poll, nothing visible), acks
    expect((await http('GET', '/queues/q/scan')).json.items.map((i: { id: string }) => i.id)).toEqual(['bin', 'a']);
    expect((await http('GET', '/queues/nope/scan')).status).toBe(404);
    expect((await http('POST', '/queues/q/dequeue')).json.item).toMatchObject({ id: 'bin', payloadEncoding: 'base64', attributes: { tenant: 'acme' } });
    expect((await http('POST', '/queues/q/dequeue')).json.item.id).toBe('a');
    const poll = http('POST', '/queues/q/dequeue?wait=5');
    await until(() => t.server.broker.queue('q').consumers.size === 1);
    t.clock.advance(5_000);
    expect((await poll).text).toBe('{"status":"error","message":"No visible items available in the queue"}');
    expect((await http('POST', '/queues/nope/dequeue')).status).toBe(404);
    expect((await http('POST', '/queues/q/acknowledge', { itemId: 'a' })).status).toBe(200);
    expect((await http('POST', '/queues/q/acknowledge', { itemId: 'a' })).status).toBe(404);
    expect((await http('POST', '/queues/q/acknowledge/bin')).status).toBe(200);
    expect((await http('POST', '/queues/q/acknowledge/bin')).status).toBe(404);

    // a change storage fails to make durable: 503 on every route that changes something
    await http('POST', '/queues/q/enqueue', { item: { id: 'b', payload: 'x' } });
    storage.failCommits = true;
    const fail = [
      await http('POST', '/queues', { queueName: 's' }),
      await http('POST', '/queues/q/enqueue', { item: { payload: 'x' } }),
      await http('POST', '/queues/q/dequeue'),
      await http('POST', '/queues/q/acknowledge', { itemId: 'b' }),
    ];
    storage.failCommits = false;
    const leased = (await http('POST', '/queues/q/dequeue')).json.item.id; // enqueued before its commit failed
    storage.failCommits = true;
    fail.push(await http('POST', `/queues/q/acknowledge/${leased}`));
    storage.failCommits = false;
    expect(fail.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);

    // Every reply was made through a schema; each declared reply was made; every field of every
    // schema was written (the error shape is one schema for all routes: its fields count across them).
    expect(t.replies.seen.filter((s) => s.schemaKey === null)).toEqual([]);
    const declared = new Map(t.replies.routes.map((r) => [r.route, r.response ?? {}]));
    const written = new Map<unknown, Set<string>>();
    for (const s of t.replies.seen) {
      const schema = declared.get(s.route)?.[s.schemaKey as string];
      written.set(schema, new Set([...(written.get(schema) ?? []), ...s.fields]));
    }
    const missing: string[] = [];
    for (const [route, response] of declared) {
      for (const [key, schema] of Object.entries(response)) {
        if (!t.replies.seen.some((s) => s.route === route && s.schemaKey === key)) missing.push(`${route} ${key}`);
        for (const f of schemaFields(schema)) if (written.has(schema) && !written.get(schema)?.has(f)) missing.push(`${route} ${key}: ${f}`);
      }
    }
    // Only a bug (500) can fail these three reads: they change nothing, so storage never fails them.
    expect(missing.sort()).toEqual(['GET /queues 5xx', 'GET /queues/:queueName 5xx', 'GET /queues/:queueName/scan 5xx']);
    expect(t.replies.mismatches).toEqual([]);
  });

  test("the stats schema has every field of the engine's Queue.stats(), in its order (the age in seconds, last)", () => {
    const engine = Object.keys(t.server.broker.queue('q').stats(t.clock.now())).filter((k) => k !== 'oldestReadyAgeMs');
    const schema = (RESPONSES['GET /queues/:queueName'][200] as any).properties.stats;
    expect(Object.keys(schema.properties)).toEqual([...engine, 'oldestReadyAgeSeconds']);
    expect(schema.required).toEqual(Object.keys(schema.properties));
    expect((RESPONSES['GET /queues'][200] as any).properties.queues.items.properties.stats).toBe(schema);
  });
});

/** A bare fastify app with one route per response schema, replying with whatever the test sets. */
async function probe() {
  const app = Fastify();
  const check = new ReplyCheck();
  check.install(app);
  const next: { status: number; body: unknown } = { status: 200, body: null };
  for (const [route, response] of Object.entries(RESPONSES)) {
    app.get(`/probe/${route.replace(' ', '')}`, { schema: { response } }, async (_request, reply) => {
      reply.code(next.status);
      return next.body;
    });
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const send = async (route: keyof typeof RESPONSES, status: number, body: unknown): Promise<string> => {
    Object.assign(next, { status, body });
    const path = route.replace(' ', '').replace(':queueName', 'q').replace(':itemId', 'i');
    const res = await httpRequest(url, 'GET', `/probe/${path}`);
    expect(res.status).toBe(status);
    return res.text;
  };
  return { app, check, send };
}

test('a field the handler returns that no schema lists is not sent; the reply check reports it', async () => {
  const { app, check, send } = await probe();
  try {
    const body = await send('POST /queues', 201, { status: 'success', message: 'Queue created successfully', queueName: 'q', secret: 's3cret' });
    expect(body).toBe('{"status":"success","message":"Queue created successfully","queueName":"q"}');
    const error = await send('GET /queues/:queueName', 404, { status: 'error', message: 'Queue not found', queueName: 'q', stack: 'at x.js:1' });
    expect(error).toBe('{"status":"error","message":"Queue not found","queueName":"q"}');
    expect(check.mismatches.map((m) => [m.route, m.status])).toEqual([
      ['GET /probe/POST/queues', 201],
      ['GET /probe/GET/queues/:queueName', 404],
    ]);
    expect(() => check.assertNoMismatch()).toThrow(/2 HTTP replies differ from JSON.stringify of the handler's object/);
  } finally {
    await app.close();
  }
});

test('property: the schemas write any item, queue, stats or error exactly as JSON.stringify does', async () => {
  const { app, check, send } = await probe();
  // Text with what JSON escapes (quotes, backslashes, controls, lone surrogates) and what it does not.
  const text = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ unit: fc.constantFrom('"', '\\', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', 'é', '🚀', 'a'), maxLength: 60 }),
  );
  const attributes = fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', '1', '01')), text, { maxKeys: 4 });
  const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const count = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
  const seconds = fc.oneof(fc.nat().map((ms) => ms / 1000), fc.double({ min: 0, max: 1e12, noNaN: true }));
  const item = fc.record(
    { id: text, payload: text, priority: int32, payloadEncoding: fc.constant('base64' as const), attributes },
    { requiredKeys: ['id', 'payload', 'priority'] },
  );
  const dequeued = fc.tuple(item, text).map(([i, lease]) => {
    const { id, payload, priority, ...extras } = i;
    return { id, payload, priority, visibilityTimeout: lease, ...extras };
  });
  const stats = fc.record({
    ready: count,
    delayed: count,
    inFlight: count,
    consumers: count,
    enqueuedTotal: count,
    deliveredTotal: count,
    ackedTotal: count,
    nackedTotal: count,
    expiredTotal: count,
    deadLetteredTotal: count,
    oldestReadyAgeSeconds: seconds,
  });
  const queue = fc.record({
    status: fc.constant('success'),
    queueName: text,
    createdAt: text,
    config: fc.record({ visibilityTimeoutSeconds: seconds, maxDeliveries: count, deadLetterQueue: text, maxDepth: count }),
    stats,
  });
  const error = fc.record({ status: fc.constant('error'), message: text, queueName: text, itemId: text }, { requiredKeys: ['status', 'message'] });
  const reply = fc.oneof(
    fc
      .record({ status: fc.constant('success'), queueName: text, items: fc.array(item, { maxLength: 3 }) })
      .map((b) => ['GET /queues/:queueName/scan', 200, b] as const),
    fc.record({ status: fc.constant('success'), message: text, item: dequeued }).map((b) => ['POST /queues/:queueName/dequeue', 200, b] as const),
    queue.map((b) => ['GET /queues/:queueName', 200, b] as const),
    fc
      .record({
        status: fc.constant('success'),
        queues: fc.array(fc.record({ queueName: text, stats }), { maxLength: 3 }),
        next: fc.option(text, { nil: null }),
      })
      .map((b) => ['GET /queues', 200, b] as const),
    fc
      .record({ status: fc.constant('success'), message: text, item: fc.record({ id: text, payload: text, priority: int32 }), duplicate: fc.constant(true) })
      .map((b) => ['POST /queues/:queueName/enqueue', 200, b] as const),
    fc.tuple(error, fc.constantFrom(400, 404, 413, 429, 500, 503)).map(([b, status]) => ['POST /queues/:queueName/acknowledge', status, b] as const),
  );
  try {
    await fc.assert(
      fc.asyncProperty(reply, async ([route, status, body]) => {
        expect(await send(route, status, body)).toBe(JSON.stringify(body));
      }),
      { numRuns: 500 },
    );
    expect(check.mismatches).toEqual([]);
  } finally {
    await app.close();
  }
});

test('fieldsOf names nested fields once per array', () => {
  expect(fieldsOf({ a: 1, items: [{ id: 1 }, { id: 2, x: { y: 1 } }] })).toEqual(['a', 'items', 'items.id', 'items.x', 'items.x.y']);
});
