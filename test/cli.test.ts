/**
 * The `coramq` command as a user runs it: a real child process (the built dist/, which
 * `make test` builds first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { QueueServiceClient } from '../generated/coramq/v1/queue';
import { ChildLog } from './support/child-log';
import { spawnServer } from './support/cli-server';

const CLI = join(__dirname, '..', 'dist', 'src', 'cli.js');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (make test does)`);
});

test('serve --help lists every option; a bad option exits 2 with a message', () => {
  const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/--max-payload-bytes\s+CORAMQ_MAX_PAYLOAD_BYTES\s+256KiB/);
  const bad = spawnSync(process.execPath, [CLI, 'serve', '--port', 'x'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/--port must be a whole number/);
});

test('serve listens, answers calls, and exits 0 on SIGTERM after a graceful shutdown', async () => {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, CORAMQ_PORT: '0', CORAMQ_LOG_LEVEL: 'info', CORAMQ_STORAGE: 'memory' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = new ChildLog(child);
  const lines = log.lines;
  const address = (await log.waitFor((l) => typeof l.address === 'string')).address as string;
  expect(lines[0].msg).toMatch(/in-memory storage: nothing survives a restart/);
  const client = new QueueServiceClient(address, credentials.createInsecure());
  const created = await new Promise<unknown>((resolve, reject) =>
    client.createQueue({ name: 'cli', config: undefined }, (e, r) => (e ? reject(e) : resolve(r))),
  );
  expect(created).toMatchObject({ queue: { name: 'cli' } });
  client.close();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['signal received', 'shutting down', 'stopped']));
});

test('serve keeps queues in --data-dir by default: they survive a restart; a second server on the directory exits 1 saying why', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'coramq-cli-'));
  try {
    const args = ['--data-dir', dataDir, '--wal-segment-size', '4MiB', '--max-queues', '100'];
    const first = spawnServer(args);
    const address = await first.listening;
    expect(first.lines.find((l) => l.msg === 'CoraMQ listening')).toMatchObject({ storage: 'wal', dataDir, fsync: 'always' });
    const client = new QueueServiceClient(address, credentials.createInsecure());
    await new Promise((resolve, reject) => client.createQueue({ name: 'kept', config: undefined }, (e, r) => (e ? reject(e) : resolve(r))));
    client.close();

    const second = spawnServer(args);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.stderr()).toMatch(new RegExp(`data directory ${dataDir} is in use by another CoraMQ server \\(pid ${first.child.pid}`));

    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const third = spawnServer(args);
    const again = new QueueServiceClient(await third.listening, credentials.createInsecure());
    const got = await new Promise<{ queue?: { name: string } }>((resolve, reject) => again.getQueue({ name: 'kept' }, (e, r) => (e ? reject(e) : resolve(r))));
    expect(got.queue?.name).toBe('kept');
    again.close();
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
