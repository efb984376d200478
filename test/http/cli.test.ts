/**
 * `coramq serve` with CORAMQ_HTTP_PORT, as a user runs it: a real child process (the built
 * dist/, which `make test` builds first) serving the HTTP API, stopped by SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLog } from '../support/child-log';
import { httpRequest } from '../support/http';

const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli.js');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (make test does)`);
});

test('CORAMQ_HTTP_PORT serves the HTTP API; SIGTERM ends a waiting long-poll with 503 and exits 0', async () => {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, CORAMQ_PORT: '0', CORAMQ_HTTP_PORT: '0', CORAMQ_LOG_LEVEL: 'info', CORAMQ_STORAGE: 'memory' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const log = new ChildLog(child);
  const url = (await log.waitFor((l) => l.msg === 'HTTP API listening')).url as string;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await httpRequest(url, 'POST', '/queues', { queueName: 'cli' })).status).toBe(201);
  const poll = httpRequest(url, 'POST', '/queues/cli/dequeue?wait=600');
  // Ask for the queue's stats until the poll is registered as its consumer (no sleeping).
  while ((await httpRequest(url, 'GET', '/queues/cli')).json.stats.consumers !== 1);
  child.kill('SIGTERM');
  expect((await poll).status).toBe(503);
  expect(await exited).toBe(0);
  expect(log.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
});
