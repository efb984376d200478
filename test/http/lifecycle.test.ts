/**
 * The HTTP API's life around its requests: off unless --http-port is set, the bearer token
 * when --auth-token is set, TLS with the gRPC certificate, replies only after storage has
 * made a change durable, and graceful shutdown (open long-polls end with 503).
 */
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig, loadConfig } from '../../src/config';
import type { Storage, StorageHealth } from '../../src/storage/journal';
import { NULL_JOURNAL } from '../../src/storage/memory-storage';
import { CoraError } from '../../src/errors';
import { startServer } from '../../src/server/server';
import { httpRequest, rawExchange, startHttpTestServer, turns, until } from '../support/http';
import { startTestServer } from '../support/server';
import { ManualClock } from '../support/manual-clock';

test('the HTTP API is off unless --http-port or CORAMQ_HTTP_PORT is set', async () => {
  expect(defaultConfig().httpPort).toBeNull();
  expect(loadConfig([], { CORAMQ_HTTP_PORT: '8080' }).httpPort).toBe(8080);
  expect(loadConfig(['--http-port', '9090'], { CORAMQ_HTTP_PORT: '8080' }).httpPort).toBe(9090);
  expect(() => loadConfig(['--http-port', '50051'], {})).toThrow('--http-port must differ from --port');
  expect(() => loadConfig(['--http-port', '70000'], {})).toThrow('--http-port must be at most 65535');
  expect(() => loadConfig(['--http-max-body-bytes', '1KiB'], {})).toThrow(/--http-max-body-bytes must be at least --max-payload-bytes/);
  const t = await startTestServer();
  try {
    expect(t.server.http).toBeNull();
  } finally {
    await t.close();
  }
});

test('an HTTP port that is taken fails startup with the reason, and leaves nothing listening', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as AddressInfo).port;
  try {
    const config = defaultConfig();
    config.port = 0;
    config.httpPort = taken;
    const lines: { address?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    await expect(startServer(config, { clock: new ManualClock(), logger })).rejects.toThrow(/EADDRINUSE/);
    const grpcAddress = lines.find((l) => typeof l.address === 'string')?.address as string;
    const [host, grpcPort] = [grpcAddress.slice(0, grpcAddress.lastIndexOf(':')), Number(grpcAddress.slice(grpcAddress.lastIndexOf(':') + 1))];
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(grpcPort, host, () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED'); // the gRPC server it had started is down again
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('with --auth-token every route but /health needs the bearer token: 401 otherwise', async () => {
  const t = await startHttpTestServer({ config: (c) => (c.authToken = 's3cret') });
  try {
    const missing = await t.http('POST', '/queues', { queueName: 'q' });
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ status: 'error', message: "missing credentials: send the header 'Authorization: Bearer <token>'" });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.headers.get('coramq-error-code')).toBe('UNAUTHENTICATED');
    const wrong = await t.http('GET', '/queues', undefined, { authorization: 'Bearer nope' });
    expect([wrong.status, wrong.json.message]).toEqual([401, 'invalid token']);
    expect((await t.http('GET', '/nowhere')).status).toBe(401); // no probing of routes without a token
    expect((await t.http('GET', '/health')).status).toBe(200);
    const ok = await t.http('POST', '/queues', { queueName: 'q' }, { authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(201);
  } finally {
    await t.close();
  }
});

test('with --tls-cert and --tls-key the HTTP API is served over HTTPS with the same certificate', async () => {
  const cert = join(__dirname, '..', 'fixtures', 'tls-cert.pem');
  const t = await startHttpTestServer({
    config: (c) => {
      c.tlsCert = cert;
      c.tlsKey = join(__dirname, '..', 'fixtures', 'tls-key.pem');
    },
  });
  try {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${t.url}/health`, { ca: require('node:fs').readFileSync(cert) }, (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual({ status: 'success', message: 'CoraMQ is serving', storage: 'memory', storageState: 'ok' });
  } finally {
    await t.close();
  }
});

test('a client that does not finish sending its request in --http-request-timeout gets 408; a long-poll is not cut', async () => {
  const t = await startHttpTestServer({ config: (c) => (c.httpRequestTimeoutMs = 300) });
  try {
    await t.http('POST', '/queues', { queueName: 'q' });
    const poll = t.http('POST', '/queues/q/dequeue?wait=600');
    const raw = await rawExchange(t, 'POST /queues HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{"queue');
    expect(raw).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe('{"status":"error","message":"the request took too long to arrive"}');
    // The poll has been waiting longer than the request timeout: it still gets its item.
    await t.http('POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'x' } });
    expect((await poll).json.item.id).toBe('a');
  } finally {
    await t.close();
  }
});

/** In-memory storage whose commits resolve (or fail) only when the test says so. */
class GatedStorage implements Storage {
  readonly kind = 'gated';
  readonly journal = NULL_JOURNAL;
  /** While false, commits are immediate (as in memory). */
  gated = false;
  commits = 0;
  private gates: { resolve: () => void; reject: (e: Error) => void }[] = [];

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  health(): StorageHealth {
    return { state: 'ok' };
  }
  onHealthChange(): void {}

  commit(): Promise<void> | null {
    if (!this.gated) return null;
    this.commits++;
    return new Promise((resolve, reject) => this.gates.push({ resolve, reject }));
  }

  release(): void {
    for (const g of this.gates.splice(0)) g.resolve();
  }

  fail(e: Error): void {
    for (const g of this.gates.splice(0)) g.reject(e);
  }
}

async function serverWith(storage: Storage, shutdownGraceMs = 10_000) {
  const config = defaultConfig();
  config.port = 0;
  config.httpPort = 0;
  config.shutdownGraceMs = shutdownGraceMs;
  const server = await startServer(config, { clock: new ManualClock(), logger: pino({ level: 'silent' }), storage });
  const url = (server.http as { url: string }).url;
  return { server, http: (method: string, path: string, body?: unknown) => httpRequest(url, method, path, body) };
}

test('create, enqueue, dequeue and ack are answered only once storage.commit() resolves', async () => {
  const storage = new GatedStorage();
  const { server, http } = await serverWith(storage);
  try {
    storage.gated = true;
    const steps: [string, string, unknown, (() => boolean)][] = [
      ['POST', '/queues', { queueName: 'q' }, () => server.broker.queueCount === 1],
      ['POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'x' } }, () => server.broker.queue('q').depth === 1],
      ['POST', '/queues/q/dequeue', undefined, () => server.broker.queue('q').inFlightCount === 1],
      ['POST', '/queues/q/acknowledge', { itemId: 'a' }, () => server.broker.queue('q').depth === 0],
    ];
    for (const [method, path, body, applied] of steps) {
      let answered = false;
      const reply = http(method, path, body).finally(() => (answered = true));
      await until(() => applied() && storage.commits > 0);
      await turns(50);
      expect(answered).toBe(false);
      storage.release();
      storage.commits = 0;
      expect((await reply).status).toBeLessThan(300);
    }
  } finally {
    storage.gated = false;
    storage.release();
    await server.close();
  }
});

test('a commit that fails is reported: 503 with the storage error', async () => {
  const storage = new GatedStorage();
  const { server, http } = await serverWith(storage);
  try {
    await http('POST', '/queues', { queueName: 'q' });
    storage.gated = true;
    const reply = http('POST', '/queues/q/enqueue', { item: { payload: 'x' } });
    await until(() => storage.commits > 0);
    storage.fail(new CoraError('STORAGE_FAILED', 'storage failed to write: disk on fire'));
    const r = await reply;
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ status: 'error', message: 'storage failed to write: disk on fire' });
    expect(r.headers.get('coramq-error-code')).toBe('STORAGE_FAILED');
  } finally {
    storage.gated = false;
    await server.close();
  }
});

test('shutdown: open long-polls end with 503 at once and close() does not wait for the grace period', async () => {
  // A grace period far beyond the test timeout: the test passes only if nothing waits for it.
  const t = await startHttpTestServer({ config: (c) => (c.shutdownGraceMs = 600_000) });
  await t.http('POST', '/queues', { queueName: 'q' });
  const polls = [t.http('POST', '/queues/q/dequeue?wait=600'), t.http('POST', '/queues/q/dequeue?wait=600')];
  await until(() => t.server.broker.queue('q').consumers.size === 2);
  const closed = t.close();
  for (const reply of await Promise.all(polls)) {
    expect(reply.status).toBe(503);
    expect(reply.json).toEqual({ status: 'error', message: 'the server is shutting down; reconnect to another instance or retry' });
    expect(reply.headers.get('coramq-error-code')).toBe('SHUTTING_DOWN');
    expect(reply.headers.get('connection')).toBe('close');
  }
  await closed;
  expect(t.server.broker.queue('q').consumers.size).toBe(0);
  expect(t.server.broker.queue('q').inFlightCount).toBe(0);
  await expect(httpRequest(t.url, 'GET', '/health')).rejects.toThrow();
});

test('shutdown: a request waiting on storage is answered before storage closes', async () => {
  const storage = new GatedStorage();
  const { server, http } = await serverWith(storage);
  await http('POST', '/queues', { queueName: 'q' });
  storage.gated = true;
  const reply = http('POST', '/queues/q/enqueue', { item: { id: 'a', payload: 'x' } });
  await until(() => storage.commits > 0);
  let storageClosed = false;
  const close = storage.close.bind(storage);
  storage.close = async () => {
    storageClosed = true;
    await close();
  };
  const closed = server.close();
  await turns(50);
  expect(storageClosed).toBe(false);
  storage.release();
  expect((await reply).status).toBe(201);
  await closed;
  expect(storageClosed).toBe(true);
});

test('shutdown: a request still running after the grace period has its connection closed', async () => {
  const storage = new GatedStorage();
  const { server, http } = await serverWith(storage, 100);
  await http('POST', '/queues', { queueName: 'q' });
  storage.gated = true;
  const reply = http('POST', '/queues/q/enqueue', { item: { payload: 'x' } }).catch((e: Error) => e);
  await until(() => storage.commits > 0);
  await server.close(); // resolves although the commit never does
  expect(await reply).toMatchObject({ message: 'fetch failed' });
});
