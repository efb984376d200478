/**
 * The HTTP JSON API against a real server in a child process, side by side with gRPC on the
 * same server: enqueue throughput (one message per request, `--concurrency` requests in
 * flight) over HTTP and over gRPC unary Enqueue, then HTTP dequeue+ack cycles, and the
 * latency of one HTTP enqueue at a time. Prints figures and ratios; asserts nothing.
 *
 *   node dist/bench/http.js [--messages 20000] [--concurrency 64]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { QueueServiceClient } from '../generated/coramq/v1/queue';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' } } });
const N = Number(values.messages);
const C = Number(values.concurrency);
const PAYLOAD = 'x'.repeat(256);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function startChild(): Promise<{ url: string; address: string; stop: () => Promise<void> }> {
  const cli = join(__dirname, '..', 'src', 'cli.js');
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, CORAMQ_PORT: '0', CORAMQ_HTTP_PORT: '0', CORAMQ_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let url = '';
  let address = '';
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (typeof line.address === 'string') address = line.address;
        if (line.msg === 'HTTP API listening') url = line.url;
        if (url !== '' && address !== '') resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, address, stop };
}

async function post(url: string, body?: object): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, json: await res.json() };
}

/** Runs `total` operations with `concurrency` in flight; returns operations per second. */
async function rate(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const server = await startChild();
  const grpc = new QueueServiceClient(server.address, credentials.createInsecure());
  try {
    for (const q of ['h', 'g', 'lat']) await post(`${server.url}/queues`, { queueName: q });
    await rate(2000, C, async (i) => void (await post(`${server.url}/queues/lat/enqueue`, { item: { id: `w${i}`, payload: PAYLOAD } }))); // warm-up

    const httpEnqueue = await rate(N, C, async (i) => {
      const r = await post(`${server.url}/queues/h/enqueue`, { item: { id: `m${i}`, payload: PAYLOAD, priority: i % 10 } });
      if (r.status !== 201) throw new Error(`enqueue: ${r.status}`);
    });
    const payload = Buffer.from(PAYLOAD);
    const grpcEnqueue = await rate(N, C, (i) =>
      new Promise<void>((resolve, reject) =>
        grpc.enqueue({ queue: 'g', id: `m${i}`, payload, priority: i % 10, delay: undefined, attributes: {} }, (err) => (err ? reject(err) : resolve())),
      ),
    );
    const httpCycle = await rate(N, C, async () => {
      const d = await post(`${server.url}/queues/h/dequeue`);
      if (d.status !== 200) throw new Error(`dequeue: ${d.status}`);
      const a = await post(`${server.url}/queues/h/acknowledge/${encodeURIComponent(d.json.item.id)}`);
      if (a.status !== 200) throw new Error(`ack: ${a.status}`);
    });
    const latencies: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await post(`${server.url}/queues/lat/enqueue`, { item: { payload: PAYLOAD } });
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);

    console.log(`HTTP API vs gRPC, one server in a child process; ${fmt(N)} messages of 256 bytes, ${C} requests in flight`);
    console.log(`  HTTP enqueue            ${fmt(httpEnqueue).padStart(9)} msg/s`);
    console.log(`  gRPC unary Enqueue      ${fmt(grpcEnqueue).padStart(9)} msg/s`);
    console.log(`  HTTP dequeue+ack cycles ${fmt(httpCycle).padStart(9)} msg/s (two requests per message)`);
    console.log(`  HTTP enqueue latency, one at a time: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
    console.log(`  ratio HTTP enqueue / gRPC Enqueue: ${(httpEnqueue / grpcEnqueue).toFixed(2)}`);
  } finally {
    grpc.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
