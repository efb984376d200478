/**
 * The package as a user gets it: `npm pack` in client/ (which builds it), the tarball installed
 * into an empty project (its dependencies come from the npm registry), then used from an ES
 * module, from CommonJS and from TypeScript against a real server; and the two examples, compiled
 * there against the installed package, run as processes against a real server.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../test/support/server';

const CLIENT = join(__dirname, '..');
const ROOT = join(CLIENT, '..');
const TSC = require.resolve('typescript/bin/tsc');
const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let project: string;
let tarball: string;
let t: TestServer;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'coramq-client-pack-'));
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', project], CLIENT)) as { filename: string; files: { path: string }[] }[];
  tarball = join(project, packed[0].filename);
  packedFiles = packed[0].files.map((f) => f.path);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  npm(['install', tarball], project);
  t = await startTestServer({ clock: 'system' });
}, 240_000);

afterAll(async () => {
  await t?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

let packedFiles: string[] = [];

test('the tarball holds the built package and its README, not sources or tests; it depends on grpc-js and protobuf only', () => {
  expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/cjs/client/src/index.js', 'dist/cjs/client/src/index.d.ts', 'dist/cjs/generated/coramq/v1/queue.js']));
  expect(packedFiles.filter((f) => !(f === 'package.json' || f === 'README.md' || f.startsWith('dist/')))).toEqual([]);
  expect(packedFiles.filter((f) => f.endsWith('.ts') && !/\.d\.m?ts$/.test(f))).toEqual([]);
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/@coramq/client/package.json'), 'utf8'));
  expect(Object.keys(installed.dependencies).sort()).toEqual(['@bufbuild/protobuf', '@grpc/grpc-js']);
});

test("the package pins the same versions of its dependencies as the server, so the repo's tests run what ships", () => {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const client = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8'));
  for (const [name, version] of Object.entries(client.dependencies)) expect(`${name}@${root.dependencies[name]}`).toBe(`${name}@${version}`);
});

const script = (body: string, esm: boolean) => `
${esm ? "import { CoraMQClient, QueueNotFoundError, CoraMQError } from '@coramq/client';" : "const { CoraMQClient, QueueNotFoundError, CoraMQError } = require('@coramq/client');"}
(async () => {
  const client = new CoraMQClient(process.env.CORAMQ_ADDRESS);
  ${body}
  await client.close();
})().catch((err) => { console.error(err); process.exitCode = 1; });
`;

const roundTrip = (queue: string) => `
  await client.createQueue('${queue}');
  const { id } = await client.enqueue('${queue}', { hello: 'world' }, { priority: 3 });
  const [m] = await client.receive('${queue}');
  await m.ack();
  let notFound;
  try { await client.getQueue('missing'); } catch (err) { notFound = err; }
  console.log(JSON.stringify({ sent: id, got: m.id, body: m.json(), notFound: notFound instanceof QueueNotFoundError && notFound instanceof CoraMQError, name: notFound.name }));
`;

/** Runs a script of the project to its end (asynchronously: the server is in this process). */
function run(file: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: project, env: { ...process.env, CORAMQ_ADDRESS: t.server.address, ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} failed: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
    );
  });
}

test.each([
  ['an ES module', 'esm.mjs', true],
  ['CommonJS', 'cjs.cjs', false],
])('imported from %s, it talks to a real server', async (_, file, esm) => {
  writeFileSync(join(project, file), script(roundTrip(file.replace('.', '-')), esm));
  const out = JSON.parse(await run(file));
  expect(out).toEqual({ sent: out.got, got: expect.any(String), body: { hello: 'world' }, notFound: true, name: 'QueueNotFoundError' });
});

test('its types work from TypeScript, for ES module and CommonJS code', () => {
  const typed = `
import { CoraMQClient, QueueNotFoundError, type ReceivedMessage, type QueueInfo } from '@coramq/client';
export async function main(address: string): Promise<number> {
  const client = new CoraMQClient(address, { deadline: 5_000, batching: { maxSize: 100, linger: 1 } });
  const q: QueueInfo = await client.createQueue('typed', { visibilityTimeout: 10_000 });
  const r: { id: string; duplicate: boolean } = await client.enqueue(q.name, Buffer.from('x'), { id: 'a', priority: 1, delay: 0, attributes: { k: 'v' } });
  const worker = client.consume(q.name, async (m: ReceivedMessage) => { m.text(); }, { concurrency: 2 });
  await worker.close();
  try { await client.getQueue('nope'); } catch (err) { if (err instanceof QueueNotFoundError) return err.code; }
  // @ts-expect-error: priority is a number
  await client.enqueue('typed', 'x', { priority: 'high' });
  return r.id.length;
}
`;
  writeFileSync(join(project, 'typed.mts'), typed);
  writeFileSync(join(project, 'typed.cts'), typed);
  execFileSync(process.execPath, [TSC, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'typed.mts', 'typed.cts'], { cwd: project, encoding: 'utf8' });
});

test('examples/producer.ts and examples/worker.ts run against a real server: ten emails queued, sent, and the worker stops cleanly on SIGTERM', async () => {
  cpSync(join(CLIENT, 'examples'), join(project, 'examples'), { recursive: true });
  execFileSync(process.execPath, [TSC, '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), '--outDir', 'examples-out', 'examples/producer.ts', 'examples/worker.ts'], { cwd: project, encoding: 'utf8' });

  const produced = await run('examples-out/producer.js', { CORAMQ_QUEUE: 'emails' });
  expect(produced.trim().split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => `enqueued welcome-${i}`));
  expect(await run('examples-out/producer.js', { CORAMQ_QUEUE: 'emails' })).toContain('enqueued welcome-0 (already queued)');

  const worker = spawn(process.execPath, ['examples-out/worker.js'], { cwd: project, env: { ...process.env, CORAMQ_ADDRESS: t.server.address, CORAMQ_QUEUE: 'emails' } });
  let out = '';
  let err = '';
  worker.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    worker.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if ((out.match(/^sent /gm) ?? []).length === 10) resolve();
    });
    worker.on('exit', (code) => reject(new Error(`the worker exited (${code}) early: ${out}${err}`)));
  });
  worker.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(err).toBe('');
  expect(out).toMatch(/sent welcome to user0@example.com \(welcome-0, delivery 1\)/);
  expect(out).toMatch(/SIGTERM: finishing the emails under way\nstopped\n$/);
  const { queue } = await t.call('getQueue', { name: 'emails' });
  expect(queue?.stats).toMatchObject({ ackedTotal: 10, ready: 0, inFlight: 0 });
});
