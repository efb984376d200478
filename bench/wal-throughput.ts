/**
 * A batching client against a real server (the built CLI as a child process), one storage
 * variant after another, interleaved over several rounds: memory, wal with --fsync always,
 * interval, never. Prints the median msg/s of each phase, the server's CPU per message, and
 * each variant's ratio to memory. Asserts nothing.
 *
 *   node dist/bench/wal-throughput.js [--messages 400000] [--rounds 3] [--batch 500] [--concurrency 8]
 *
 * E: EnqueueBatch of `batch` messages (256 bytes, priorities 0-9), `concurrency` requests in
 *    flight, until `messages` are confirmed.
 * D: one Dequeue stream (max_in_flight 4000), acked with AckBatch of up to 500 as messages
 *    arrive, until every message is acked.
 * Server CPU is utime+stime of its process (all threads) over the phase, from /proc. The
 * server runs with its node flags (src/server/node-flags.ts) plus env CORAMQ_NODE_ARGS.
 */
import { serverNodeArgs } from '../src/server/node-flags';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { QueueServiceClient, type AckEntry, type DequeueResponse } from '../generated/coramq/v1/queue';
import { cpuSeconds, startServer } from './server-process';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '400000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
  },
});
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);

const VARIANTS: [string, string[]][] = [
  ['memory', ['--storage', 'memory']],
  ['wal always', ['--storage', 'wal', '--fsync', 'always']],
  ['wal interval', ['--storage', 'wal', '--fsync', 'interval']],
  ['wal never', ['--storage', 'wal', '--fsync', 'never']],
];

const call = <Req, Res>(fn: (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => fn(req, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));

interface Result {
  e: number;
  d: number;
  eCpuUs: number;
  dCpuUs: number;
}

async function measure(args: string[]): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'coramq-bench-tp-'));
  const server = await startServer(serverNodeArgs(), ['--log-level', 'info', '--data-dir', dir, ...args]);
  try {
    const pid = server.pid;
    const c = new QueueServiceClient(server.address, credentials.createInsecure());
    await call(c.createQueue.bind(c), { name: 'b', config: { visibilityTimeout: { seconds: 60, nanos: 0 }, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 0 } });
    const payload = Buffer.alloc(256, 7);
    const messages = Array.from({ length: BATCH }, (_, i) => ({ id: '', payload, priority: i % 10, delay: undefined, attributes: {}, queue: '' }));

    let sent = 0;
    let cpu0 = cpuSeconds(pid);
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < N) {
          sent += BATCH;
          await call(c.enqueueBatch.bind(c), { queue: 'b', messages });
        }
      }),
    );
    const eS = (performance.now() - t0) / 1000;
    const eCpu = cpuSeconds(pid) - cpu0;

    cpu0 = cpuSeconds(pid);
    t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      let acked = 0;
      let pending: AckEntry[] = [];
      const stream = c.dequeue({ queue: 'b', maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: 4000 });
      const flush = (): void => {
        const entries = pending;
        pending = [];
        call(c.ackBatch.bind(c), { queue: 'b', entries }).then(() => {
          acked += entries.length;
          if (acked >= sent) {
            stream.cancel();
            resolve();
          }
        }, reject);
      };
      stream.on('data', (r: DequeueResponse) => {
        for (const m of r.messages) pending.push({ id: m.id, receipt: m.receipt, queue: '' });
        if (pending.length >= 500) flush();
        else setImmediate(() => pending.length > 0 && flush());
      });
      stream.on('error', () => {});
    });
    const dS = (performance.now() - t0) / 1000;
    const dCpu = cpuSeconds(pid) - cpu0;
    c.close();
    return { e: sent / eS, d: sent / dS, eCpuUs: (eCpu / sent) * 1e6, dCpuUs: (dCpu / sent) * 1e6 };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const results = new Map<string, Result[]>(VARIANTS.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, args] of VARIANTS) {
      const r = await measure(args);
      (results.get(name) as Result[]).push(r);
      console.error(`round ${round + 1} ${name}: E ${fmt(r.e)}/s (${r.eCpuUs.toFixed(1)} µs CPU/msg), D ${fmt(r.d)}/s (${r.dCpuUs.toFixed(1)} µs CPU/msg)`);
    }
  }
  const med = (name: string, key: keyof Result): number => median((results.get(name) as Result[]).map((r) => r[key]));
  console.log(`\n## Batching client: ${fmt(N)} messages, EnqueueBatch ${BATCH} × ${CONCURRENCY} in flight, AckBatch ≤ 500; median of ${ROUNDS} interleaved rounds\n`);
  console.log('| storage | E msg/s | E vs memory | server µs CPU/msg (E) | D msg/s | D vs memory | server µs CPU/msg (D) |');
  console.log('|---|--:|--:|--:|--:|--:|--:|');
  for (const [name] of VARIANTS) {
    const ratio = (key: 'e' | 'd'): string => `${(med(name, key) / med('memory', key)).toFixed(2)}×`;
    console.log(`| ${name} | ${fmt(med(name, 'e'))} | ${ratio('e')} | ${med(name, 'eCpuUs').toFixed(1)} | ${fmt(med(name, 'd'))} | ${ratio('d')} | ${med(name, 'dCpuUs').toFixed(1)} |`);
  }
}

void main();
