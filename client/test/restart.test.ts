/**
 * The server is killed (SIGKILL) and restarted on the same port while a worker consumes: the
 * worker reconnects by itself and carries on. The server is the real `coramq serve` (the built
 * dist/, which `make test` builds first) as a child process, on the real clock.
 *
 * STORAGE decides what a restart keeps. With in-memory storage nothing survives it, so the test
 * re-creates the queue and shows: the worker reconnects, messages enqueued after the restart
 * are all processed, and no message acked before the kill is processed again. With durable
 * storage (STORAGE = ['--storage', 'wal']) it also shows that none is lost: the messages that
 * were queued or in flight at the kill are processed after the restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoraMQClient, type WorkerEvent } from '../src';
import { defer, eventually, Notifier } from './support';

/** The server's storage arguments (the data directory is added: the same one across restarts). */
const STORAGE = ['--storage', 'wal', '--fsync', 'always'];
const DURABLE = !STORAGE.includes('memory');

const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli.js');
let dataDir: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (make test does)`);
  dataDir = mkdtempSync(join(tmpdir(), 'coramq-restart-'));
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `coramq serve` and resolves with its port once it listens. */
function serve(port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir, ...STORAGE], {
    env: { ...process.env, CORAMQ_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as { address?: string };
        buf = buf.slice(nl + 1);
        if (typeof line.address === 'string') resolve({ child, port: Number(line.address.split(':').pop()) });
      }
    });
    child.on('exit', (code) => reject(new Error(`coramq serve exited with ${code} before listening`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

test('the server is killed and restarted while a worker consumes: the worker reconnects and carries on', async () => {
  const first = await serve(0);
  const client = new CoraMQClient(`127.0.0.1:${first.port}`, { reconnect: { initialDelay: 50, maxDelay: 500 }, deadline: 20_000 });
  await client.createQueue('jobs');

  const processed = new Map<string, number>();
  const changed = new Notifier();
  const connectionErrors: unknown[] = [];
  const pendingGate = defer();
  const worker = client.consume(
    'jobs',
    async (m) => {
      processed.set(m.id, (processed.get(m.id) ?? 0) + 1);
      changed.notify();
      if (m.id.startsWith('pending-')) await pendingGate.promise;
    },
    {
      concurrency: 4,
      onError: (error: unknown, event: WorkerEvent) => {
        if (event.kind === 'connection') connectionErrors.push(error);
        changed.notify();
      },
    },
  );
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const enqueueAll = (list: string[]) => Promise.all(list.map((id) => client.enqueue('jobs', id, { id })));

  // Before the kill: 30 messages processed and acked.
  const before = ids('before', 30);
  await enqueueAll(before);
  await changed.until(() => before.every((id) => processed.has(id)), 'the first 30 messages');
  await eventually(async () => worker.acked === 30, 'their acks to be confirmed', { tries: 500, pauseMs: 10 });
  expect((await client.getQueue('jobs')).stats.ackedTotal).toBe(30);

  // At the kill: 10 more, 4 of them running in handlers that wait, 6 still queued.
  const pending = ids('pending', 10);
  await enqueueAll(pending);
  await changed.until(() => pending.filter((id) => processed.has(id)).length === 4, 'four handlers running');

  await kill(first.child);
  const second = await serve(first.port);
  if (!DURABLE) await client.createQueue('jobs'); // in memory, the queue went with the process
  pendingGate.resolve();

  // After the restart: the worker reconnects by itself and processes what comes.
  const after = ids('after', 30);
  await enqueueAll(after);
  await changed.until(() => after.every((id) => processed.has(id)), 'the 30 messages enqueued after the restart', 20_000);
  if (DURABLE) await changed.until(() => pending.every((id) => processed.has(id)), 'the messages queued or in flight at the kill', 20_000);

  expect(connectionErrors.length).toBeGreaterThanOrEqual(1);
  for (const id of before) expect(processed.get(id)).toBe(1); // acked before the kill: never again
  for (const id of after) expect(processed.get(id)).toBeGreaterThanOrEqual(1);
  if (DURABLE) for (const id of pending) expect(processed.get(id)).toBeGreaterThanOrEqual(1);

  await worker.close();
  const { stats } = await client.getQueue('jobs');
  expect(stats).toMatchObject({ ready: 0, delayed: 0, inFlight: 0 });
  await client.close();
  await kill(second.child);
}, 60_000);
