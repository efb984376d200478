/**
 * The server on durable storage, through real gRPC: what is confirmed survives a restart
 * (queues, messages, delivery counts; a delivery in flight comes back ready), and a full
 * disk answers RESOURCE_EXHAUSTED (STORAGE_FULL) while acks keep working, and health
 * (gRPC and GET /health) follows the storage's state.
 */
import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import type { ServerConfig } from '../../src/config';
import { WalStorage } from '../../src/storage/wal/wal-storage';
import { httpRequest, until } from '../support/http';
import { errorCode, startTestServer } from '../support/server';
import { FaultyFiles, silent, tempDir, walOptions } from '../support/wal';
import { createQueue, dequeue, enqueue } from '../support/wire';

const onWal = (dir: string) => (c: ServerConfig) => {
  c.storage = 'wal';
  c.dataDir = dir;
  c.wal.segmentSize = 1024 * 1024;
  c.limits.maxQueues = 100;
};

test('queues, messages and delivery counts survive a restart; a delivery in flight comes back ready', async () => {
  const dir = tempDir();
  let t = await startTestServer({ config: onWal(dir) });
  expect(t.server.storage.kind).toBe('wal');
  await createQueue(t, 'jobs', { maxDeliveries: 5, visibilityTimeout: { seconds: 60, nanos: 0 } });
  await enqueue(t, 'jobs', { id: 'a', priority: 2, attributes: { k: 'v' } });
  await enqueue(t, 'jobs', { id: 'b' });
  await enqueue(t, 'jobs', { id: 'c' });
  const [a, b] = await dequeue(t, 'jobs', { maxMessages: 2 }).take(2);
  await t.call('ack', { queue: 'jobs', id: b.id, receipt: b.receipt });
  expect(a.id).toBe('a');
  await t.close();

  t = await startTestServer({ config: onWal(dir) });
  const { queue } = await t.call('getQueue', { name: 'jobs' });
  expect(queue?.config).toMatchObject({ maxDeliveries: 5, visibilityTimeout: { seconds: 60, nanos: 0 } });
  expect(queue?.stats).toMatchObject({ ready: 2, inFlight: 0, delayed: 0 });
  const got = await dequeue(t, 'jobs', { maxMessages: 2 }).take(2);
  expect(got.map((m) => [m.id, m.deliveryCount, m.attributes])).toEqual([
    ['a', 2, { k: 'v' }],
    ['c', 1, {}],
  ]);
  await t.close();
});

test('a full disk answers Enqueue with RESOURCE_EXHAUSTED (STORAGE_FULL), EnqueueBatch per entry; acks still succeed', async () => {
  const dir = tempDir();
  const files = new FaultyFiles();
  const segment = 64 * 1024;
  files.diskBytes = 3 * segment;
  const storage = new WalStorage(walOptions(dir, { files, segmentSize: segment, headroom: 2048, log: silent }));
  const t = await startTestServer({ storage });
  await createQueue(t, 'q');
  let accepted = 0;
  let err;
  for (;;) {
    err = await enqueue(t, 'q', { payload: Buffer.alloc(1000) }).then(
      () => null,
      (e) => e,
    );
    if (err !== null) break;
    accepted++;
    await storage.maintenanceIdle();
  }
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(errorCode(err)).toBe('STORAGE_FULL');
  expect(err.details).toMatch(/the disk is full/);
  expect(accepted).toBeGreaterThan(50);
  const batch = await t.call('enqueueBatch', { queue: 'q', messages: [{ id: '', payload: Buffer.alloc(1000), priority: 0, delay: undefined, attributes: {}, queue: '' }] });
  expect(batch.results[0].error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, reason: 'STORAGE_FULL' });

  const delivered = await dequeue(t, 'q', { maxMessages: accepted, maxInFlight: 1000 }).take(accepted);
  for (let i = 0; i < delivered.length; i += 500) {
    const res = await t.call('ackBatch', { queue: 'q', entries: delivered.slice(i, i + 500).map((m) => ({ id: m.id, receipt: m.receipt, queue: '' })) });
    expect(res.results.filter((r) => r.error !== undefined)).toEqual([]);
  }
  await storage.maintenanceIdle();
  await enqueue(t, 'q', { id: 'room-again' });
  await t.close();
});

test('health follows storage: a full disk stays SERVING and says so on GET /health; a failed write turns NOT_SERVING and 503', async () => {
  const dir = tempDir();
  const files = new FaultyFiles();
  const segment = 64 * 1024;
  files.diskBytes = 3 * segment;
  const storage = new WalStorage(walOptions(dir, { files, segmentSize: segment, headroom: 2048, log: silent }));
  const t = await startTestServer({ storage, config: (c) => (c.httpPort = 0) });
  const url = (t.server.http as { url: string }).url;
  const pkg = loadPackageDefinition(loadSync(healthProto, { enums: String })) as any;
  const health = new pkg.grpc.health.v1.Health(t.server.address, credentials.createInsecure());
  const check = (service: string): Promise<string> =>
    new Promise((resolve, reject) => health.check({ service }, (e: Error, r: { status: string }) => (e ? reject(e) : resolve(r.status))));
  const watched: string[] = [];
  const watch = health.watch({ service: 'coramq.v1.QueueService' });
  watch.on('data', (r: { status: string }) => watched.push(r.status));
  watch.on('error', () => {});
  try {
    expect((await httpRequest(url, 'GET', '/health')).json).toEqual({ status: 'success', message: 'CoraMQ is serving', storage: 'wal', storageState: 'ok' });

    await createQueue(t, 'q');
    let err = null;
    while (err === null) {
      err = await enqueue(t, 'q', { payload: Buffer.alloc(1000) }).then(() => null, (e) => e);
      await storage.maintenanceIdle();
    }
    expect(errorCode(err)).toBe('STORAGE_FULL');
    expect(storage.health().state).toBe('disk-full');
    expect(await check('')).toBe('SERVING');
    const full = await httpRequest(url, 'GET', '/health');
    expect(full.status).toBe(200);
    expect(full.json).toMatchObject({ status: 'success', storageState: 'disk-full', message: expect.stringMatching(/^CoraMQ is serving; the disk is full/) });

    files.failWrites = true;
    const [m] = await dequeue(t, 'q', { maxMessages: 1 }).take(1);
    const ackErr = await t.call('ack', { queue: 'q', id: m.id, receipt: m.receipt }).then(() => null, (e) => e);
    expect(errorCode(ackErr)).toBe('STORAGE_FAILED');
    for (const service of ['', 'coramq.v1.QueueService']) expect(await check(service)).toBe('NOT_SERVING');
    await until(() => watched.includes('NOT_SERVING'));
    expect(watched).toEqual(['SERVING', 'NOT_SERVING']);
    const failed = await httpRequest(url, 'GET', '/health');
    expect(failed.status).toBe(503);
    expect(failed.headers.get('coramq-error-code')).toBe('STORAGE_FAILED');
    expect(failed.json).toEqual({ status: 'error', message: expect.stringMatching(/write-ahead log could not be written \(EIO\).*restarted/) });
  } finally {
    watch.cancel();
    health.close();
    files.failWrites = false;
    await t.close().catch(() => {});
  }
});
