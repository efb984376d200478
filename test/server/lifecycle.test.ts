/** Authentication, health, reflection and graceful shutdown, against a real server. */
import { credentials, loadPackageDefinition, Metadata, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { startTestServer, rejection, errorCode, type TestServer } from '../support/server';
import { ReflectionClient } from '../support/reflection-client';
import { createQueue, dequeue, enqueue } from '../support/wire';

describe('auth token', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ config: (c) => (c.authToken = 's3cret') });
  });
  afterAll(() => t.close());
  const bearer = (token: string): Metadata => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };

  test('calls without a token, or with a wrong one, are UNAUTHENTICATED', async () => {
    const none = await rejection(t.call('listQueues', { pageSize: 0, pageToken: '' }));
    expect(none.code).toBe(status.UNAUTHENTICATED);
    expect(none.details).toMatch(/authorization: Bearer <token>/);
    const wrong = await rejection(t.call('listQueues', { pageSize: 0, pageToken: '' }, bearer('nope')));
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    const stream = await dequeue(t, 'q').ended();
    expect(stream.code).toBe(status.UNAUTHENTICATED);
  });

  test('the right token is accepted', async () => {
    const res = await t.call('createQueue', { name: 'q', config: undefined }, bearer('s3cret'));
    expect(res.queue?.name).toBe('q');
  });
});

describe('health and reflection', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  test('grpc.health.v1 reports SERVING for the server and for coramq.v1.QueueService', async () => {
    const pkg = loadPackageDefinition(loadSync(healthProto, { enums: String })) as any;
    const health = new pkg.grpc.health.v1.Health(t.server.address, credentials.createInsecure());
    for (const service of ['', 'coramq.v1.QueueService']) {
      const res = await new Promise<{ status: string }>((resolve, reject) => health.check({ service }, (e: Error, r: { status: string }) => (e ? reject(e) : resolve(r))));
      expect(res.status).toBe('SERVING');
    }
    health.close();
  });

  test.each(['v1', 'v1alpha'] as const)('reflection %s lists the service and resolves every message type it uses', async (version) => {
    const r = new ReflectionClient(t.server.address, version);
    try {
      expect(await r.listServices()).toEqual(
        expect.arrayContaining(['coramq.v1.QueueService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']),
      );
      const types = await r.messageTypes('coramq.v1.QueueService');
      expect(types).toEqual(
        expect.arrayContaining([
          'coramq.v1.CreateQueueRequest',
          'coramq.v1.QueueConfig',
          'coramq.v1.QueueStats',
          'coramq.v1.EnqueueRequest',
          'coramq.v1.DequeueResponse',
          'coramq.v1.Message',
          'coramq.v1.EntryError',
          'google.protobuf.Duration',
          'google.protobuf.Timestamp',
        ]),
      );
      expect(types.length).toBeGreaterThanOrEqual(30);
    } finally {
      r.close();
    }
  });

  test('a reflection-only client creates, enqueues, dequeues and acks with messages built from descriptors', async () => {
    const r = new ReflectionClient(t.server.address, 'v1alpha');
    try {
      await r.resolve('coramq.v1.QueueService');
      await r.unary('coramq.v1.QueueService.CreateQueue', { name: 'refl' });
      const enq = await r.unary('coramq.v1.QueueService.Enqueue', { queue: 'refl', id: 'r1', payload: Buffer.from('hi').toString('base64'), priority: 2 });
      expect(enq).toEqual({ id: 'r1' });
      const frames = await r.serverStream('coramq.v1.QueueService.Dequeue', { queue: 'refl', max_messages: 1 });
      const msg = (frames[0].messages as Record<string, unknown>[])[0];
      expect(msg).toMatchObject({ id: 'r1', queue: 'refl', payload: Buffer.from('hi').toString('base64'), priority: 2, delivery_count: 1 });
      expect(await r.unary('coramq.v1.QueueService.Ack', { queue: 'refl', id: 'r1', receipt: msg.receipt })).toEqual({});
    } finally {
      r.close();
    }
  });
});

describe('graceful shutdown', () => {
  test('open Dequeue streams end with UNAVAILABLE, new calls are refused, close resolves', async () => {
    const t = await startTestServer();
    await createQueue(t, 'q');
    await enqueue(t, 'q', { id: 'a' });
    const open = dequeue(t, 'q');
    await open.take(1);
    const closing = t.server.close();
    const end = await open.ended();
    expect(end.code).toBe(status.UNAVAILABLE);
    expect(end.details).toMatch(/shutting down/);
    await closing;
    const after = await rejection(t.call('getQueue', { name: 'q' }));
    expect(after.code).toBe(status.UNAVAILABLE);
    await t.close();
  });
});
