/**
 * Server memory per queued message, and latency through the client package with and without a
 * large backlog on another queue, with the longest GC pauses on both sides. Issue 7, targets 5
 * and 4 (second half). Prints figures and ratios; asserts nothing.
 *
 *   node dist/bench/memory.js [--messages 1000000] [--batch 500] [--concurrency 8]
 *                             [--rate 2000] [--latency-messages 20000] [--window 64]
 *
 * The server is the built CLI (`coramq serve --storage memory`) in a child process
 * (bench/server-process.ts) with the server's node flags (src/server/node-flags.ts, plus env
 * CORAMQ_NODE_ARGS), preloaded with bench/gc-probe.cjs (which reports its GC pauses on
 * SIGUSR2; src/ is unchanged). Two fresh servers, one after the other:
 *
 * 1. "L, other queue empty": queues `bulk` (empty) and `lat`; the L phase below on `lat`.
 * 2. "L, other queue holds N": queues `bulk` and `lat`; after 0.5 s the server's VmRSS (idle);
 *    N messages of exactly 256 random bytes, priorities 0-9 (mulberry32, seed 1), sent to
 *    `bulk` with `enqueueBatch` of `batch`, `concurrency` calls outstanding; 1 s later VmRSS
 *    again. Bytes per queued message = (after − idle) / N, next to beanstalkd's 462 (the
 *    shared peers harness, ../shared/peers). The depth of `bulk` (stats.ready) must equal N.
 *    Then the L phase on `lat` while `bulk` holds the N messages.
 *
 * L (../shared/peers/WORKLOAD.md, phase L): one consumer connection, `subscribe('lat',
 * { maxInFlight: 64 })`, each message acked on its own with `ack()`; 300 ms later, on another
 * connection, an open-loop producer: message i is due at t0 + i / rate, one `enqueue` call per
 * message (the client coalesces calls of one event-loop turn), a sender loop waking about
 * every millisecond. Latency = `performance.now()` at receipt in the consumer loop −
 * `performance.now()` just before `enqueue`. p50/p99/max over all received (p = value at rank
 * ⌈p·n⌉). GC: the longest pause (perf_hooks 'gc' entries) in the server and in this process
 * during the L phase (from the first send until every message arrived).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as perfConstants, monitorEventLoopDelay, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CoraMQClient } from '../client/src';
import { serverNodeArgs } from '../src/server/node-flags';
import { startServer, type ServerProcess } from './server-process';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    rate: { type: 'string', default: '2000' },
    'latency-messages': { type: 'string', default: '20000' },
    window: { type: 'string', default: '64' },
  },
});
const N = Number(values.messages);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const L_COUNT = Number(values['latency-messages']);
const WINDOW = Number(values.window);
const PAYLOAD_BYTES = 256;
const BEANSTALKD_BYTES = 462;
const L_MAX_OUTSTANDING = 10_000;
const L_GRACE_MS = 10_000;
const STALL_MS = 3;
const PROBE = join(__dirname, '..', '..', 'bench', 'gc-probe.cjs');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.now();

/** mulberry32, as ../shared/peers/bench/common.mjs: the same priority sequence as the peers. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** ms the process's main thread (its event loop) has spent waiting for a CPU while runnable. */
function runQueueWaitMs(pid: number | 'self'): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

// ---- GC pauses ----

/** [start on the wall clock (timeOrigin + startTime), duration] in ms. */
type Pause = [number, number];
interface GcWindow {
  count: number;
  maxMs: number;
  maxKind: string | null;
  totalMs: number;
  /** Pauses of 1 ms or more. */
  pauses: Pause[];
}
interface ServerGcReport extends GcWindow {
  seq: number;
  memory: NodeJS.MemoryUsage;
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** This process's GC pauses, in windows started by reset(). */
class ClientGc {
  private window: GcWindow = { count: 0, maxMs: 0, maxKind: null, totalMs: 0, pauses: [] };
  private readonly observer = new PerformanceObserver((list) => list.getEntries().forEach(this.record));
  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }
  private readonly record = (e: PerformanceEntry): void => {
    this.window.count++;
    this.window.totalMs += e.duration;
    if (e.duration > this.window.maxMs) {
      this.window.maxMs = e.duration;
      this.window.maxKind = GC_KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    }
    if (e.duration >= 1) this.window.pauses.push([performance.timeOrigin + e.startTime, e.duration]);
  };
  take(): GcWindow {
    this.observer.takeRecords().forEach(this.record);
    const w = this.window;
    this.window = { count: 0, maxMs: 0, maxKind: null, totalMs: 0, pauses: [] };
    return w;
  }
  stop(): void {
    this.observer.disconnect();
  }
}

// ---- the server ----

class Server {
  private seq = 0;
  private constructor(
    private readonly process: ServerProcess,
    private readonly dir: string,
    private readonly gcFile: string,
  ) {}

  get address(): string {
    return this.process.address;
  }
  get pid(): number {
    return this.process.pid;
  }

  static async start(): Promise<Server> {
    const dir = mkdtempSync(join(tmpdir(), 'coramq-bench-mem-'));
    const gcFile = join(dir, 'gc.json');
    const server = await startServer([...serverNodeArgs(), '--require', PROBE], ['--storage', 'memory', '--log-level', 'info'], { ...process.env, CORAMQ_GC_PROBE_FILE: gcFile });
    return new Server(server, dir, gcFile);
  }

  /** The server's GC pauses since the previous call (or its start), and its memoryUsage() now. */
  async gc(full = false): Promise<ServerGcReport> {
    if (full) writeFileSync(`${this.gcFile}.full`, '');
    const want = ++this.seq;
    process.kill(this.process.pid, 'SIGUSR2');
    const end = now() + 10_000;
    while (now() < end) {
      try {
        const r = JSON.parse(readFileSync(this.gcFile, 'utf8')) as ServerGcReport;
        if (r.seq === want) return r;
      } catch {
        // not written yet
      }
      await sleep(20);
    }
    throw new Error('the server did not answer the GC probe');
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

}

// ---- phases ----

/** N messages of 256 random bytes into `queue`, enqueueBatch of BATCH, CONCURRENCY outstanding. */
async function fill(client: CoraMQClient, queue: string, n: number): Promise<{ seconds: number; failed: number }> {
  const rnd = prng(1);
  let next = 0;
  let failed = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const base = next;
        const count = Math.min(BATCH, n - base);
        next += count;
        const bytes = randomBytes(count * PAYLOAD_BYTES);
        const entries = new Array(count);
        for (let i = 0; i < count; i++) {
          const payload = bytes.subarray(i * PAYLOAD_BYTES, (i + 1) * PAYLOAD_BYTES);
          payload.writeUInt32BE(base + i, 0);
          entries[i] = { payload, priority: Math.floor(rnd() * 10) };
        }
        const results = await client.enqueueBatch(queue, entries);
        for (const r of results) if (!r.ok) failed++;
      }
    }),
  );
  return { seconds: (now() - t0) / 1000, failed };
}

interface LatencyResult {
  sent: number;
  received: number;
  skipped: number;
  sendErrors: number;
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
  serverGc: ServerGcReport;
  clientGc: GcWindow;
  loopDelayMaxMs: number;
  /** Of the messages slower than 1 ms: how many were in flight during what. */
  /** ms each main thread waited for a CPU during the phase (/proc/PID/schedstat). */
  runQueueWait: { server: number; client: number };
  slow: { total: number; serverGc: number; clientGc: number; clientStall: number; other: number };
}

/** Whether [from, to] overlaps any pause. */
const overlaps = (pauses: Pause[], from: number, to: number): boolean => pauses.some(([start, d]) => start < to && start + d > from);

/** Phase L of the shared workload on `queue`, through the client package. */
async function latency(server: Server, clientGc: ClientGc, queue: string): Promise<LatencyResult> {
  const rnd = prng(2);
  const payloads = Array.from({ length: L_COUNT }, (_, i) => {
    const p = randomBytes(PAYLOAD_BYTES);
    p.writeUInt32BE(i, 0);
    return { payload: p, priority: Math.floor(rnd() * 10) };
  });
  const sentAt = new Float64Array(L_COUNT);
  const lat = new Float64Array(L_COUNT).fill(-1);
  let got = 0;

  const consumerClient = new CoraMQClient(server.address);
  const producer = new CoraMQClient(server.address);
  await consumerClient.getQueue(queue); // both connected before the clock starts
  await producer.getQueue(queue);
  const sub = consumerClient.subscribe(queue, { maxInFlight: WINDOW });
  const loop = (async () => {
    for await (const m of sub) {
      const i = m.payload.readUInt32BE(0);
      if (i < L_COUNT && lat[i] < 0) {
        lat[i] = now() - sentAt[i];
        got++;
      }
      m.ack().catch(() => {});
    }
  })();
  await sleep(300);

  await server.gc(); // starts the server's window
  clientGc.take(); // starts this process's window
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const waitServer0 = runQueueWaitMs(server.pid);
  const waitClient0 = runQueueWaitMs('self');
  let sent = 0;
  let skipped = 0;
  let sendErrors = 0;
  let outstanding = 0;
  const t0 = now();
  let tLast = t0;
  const stalls: Pause[] = []; // sender-loop wakes more than STALL_MS late: this process did not run
  while (sent + skipped < L_COUNT && now() - t0 < (L_COUNT / RATE) * 1000 + 1000) {
    const due = Math.min(L_COUNT, Math.floor(((now() - t0) * RATE) / 1000) + 1);
    while (sent + skipped < due) {
      const i = sent + skipped;
      if (outstanding >= L_MAX_OUTSTANDING) {
        skipped++;
        continue;
      }
      outstanding++;
      sentAt[i] = now();
      producer.enqueue(queue, payloads[i].payload, { priority: payloads[i].priority }).then(
        () => outstanding--,
        () => {
          outstanding--;
          sendErrors++;
        },
      );
      sent++;
    }
    tLast = now();
    await sleep(1);
    const late = now() - tLast - 1;
    if (late > STALL_MS) stalls.push([performance.timeOrigin + tLast + 1, late]);
  }
  const graceEnd = now() + L_GRACE_MS;
  while (got < sent && now() < graceEnd) await sleep(10);
  loopDelay.disable();
  const runQueueWait = { server: runQueueWaitMs(server.pid) - waitServer0, client: runQueueWaitMs('self') - waitClient0 };
  const clientWindow = clientGc.take();
  const serverWindow = await server.gc();

  await sub.close();
  await loop;
  await consumerClient.close();
  await producer.close();

  const slow = { total: 0, serverGc: 0, clientGc: 0, clientStall: 0, other: 0 };
  for (let i = 0; i < L_COUNT; i++) {
    if (lat[i] <= 1) continue;
    const from = performance.timeOrigin + sentAt[i];
    const to = from + lat[i];
    slow.total++;
    if (overlaps(serverWindow.pauses, from, to)) slow.serverGc++;
    else if (overlaps(clientWindow.pauses, from, to)) slow.clientGc++;
    else if (overlaps(stalls, from, to)) slow.clientStall++;
    else slow.other++;
  }

  const sorted = lat.filter((x) => x >= 0).sort();
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return {
    sent,
    received: got,
    skipped,
    sendErrors,
    achievedRate: sent / ((tLast - t0) / 1000),
    p50: q(0.5),
    p99: q(0.99),
    max: sorted[sorted.length - 1],
    serverGc: serverWindow,
    clientGc: clientWindow,
    loopDelayMaxMs: loopDelay.max / 1e6,
    slow,
    runQueueWait,
  };
}

// ---- output ----

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => n.toFixed(2);
const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);

function describe(name: string, r: LatencyResult): void {
  console.error(
    `${name}: sent ${fmt(r.sent)} at ${fmt(r.achievedRate)}/s, received ${fmt(r.received)}, skipped ${r.skipped}, send errors ${r.sendErrors}; ` +
      `p50 ${ms(r.p50)} p99 ${ms(r.p99)} max ${ms(r.max)} ms; ` +
      `server GC ${r.serverGc.count} pauses, longest ${ms(r.serverGc.maxMs)} ms (${r.serverGc.maxKind}), ${ms(r.serverGc.totalMs)} ms in all, heap ${mib(r.serverGc.memory.heapUsed)} MiB; ` +
      `client GC ${r.clientGc.count} pauses, longest ${ms(r.clientGc.maxMs)} ms; client event-loop delay max ${ms(r.loopDelayMaxMs)} ms; ` +
      `of ${r.slow.total} messages over 1 ms, in flight during a server GC pause ${r.slow.serverGc}, else a client GC pause ${r.slow.clientGc}, ` +
      `else a client stall (sender loop > ${STALL_MS} ms late) ${r.slow.clientStall}, none of these ${r.slow.other}; ` +
      `main threads waited for a CPU ${fmt(r.runQueueWait.server)} ms (server) and ${fmt(r.runQueueWait.client)} ms (client)`,
  );
}

async function main(): Promise<void> {
  const clientGc = new ClientGc();
  const loadBefore = loadavg()[0];

  // 1. A fresh server, the other queue empty.
  let server = await Server.start();
  let admin = new CoraMQClient(server.address);
  await admin.createQueue('bulk');
  await admin.createQueue('lat');
  await admin.close();
  const empty = await latency(server, clientGc, 'lat');
  describe('L, other queue empty', empty);
  await server.stop();

  // 2. A fresh server: memory per queued message, then L beside the backlog.
  server = await Server.start();
  admin = new CoraMQClient(server.address);
  await admin.createQueue('bulk');
  await admin.createQueue('lat');
  await sleep(500);
  const idle = rssBytes(server.pid);
  const idleMem = (await server.gc()).memory;
  const filled = await fill(admin, 'bulk', N);
  await sleep(1000);
  const after = rssBytes(server.pid);
  const fillGc = await server.gc();
  const depth = (await admin.getQueue('bulk')).stats;
  await admin.close();
  console.error(
    `fill: ${fmt(N)} messages in ${filled.seconds.toFixed(2)} s (${fmt(N / filled.seconds)}/s), ${filled.failed} refused; ` +
      `server GC during fill: ${fillGc.count} pauses, longest ${ms(fillGc.maxMs)} ms (${fillGc.maxKind}), ${ms(fillGc.totalMs)} ms in all`,
  );
  const backlog = await latency(server, clientGc, 'lat');
  describe(`L, other queue holds ${fmt(N)}`, backlog);
  const compacted = (await server.gc(true)).memory; // a diagnostic: what is live, after the figures above
  await sleep(200);
  const afterFullGc = rssBytes(server.pid);
  await server.stop();
  clientGc.stop();

  const perMessage = (after - idle) / N;
  const per = (a: number, b: number): string => ((a - b) / N).toFixed(0);
  console.log(`\n## Memory and latency through the client package (${fmt(N)} queued, L at ${fmt(RATE)} msg/s × ${fmt(L_COUNT)}, window ${WINDOW})\n`);
  console.log(
    `Memory: **${perMessage.toFixed(0)} B** of server RSS per queued ${PAYLOAD_BYTES}-byte message ` +
      `(${mib(idle)} → ${mib(after)} MiB over ${fmt(N)} messages), ${(perMessage / BEANSTALKD_BYTES).toFixed(2)}× beanstalkd's ${BEANSTALKD_BYTES} B; ` +
      `Per message, from the server's process.memoryUsage(): JS heap used ${per(fillGc.memory.heapUsed, idleMem.heapUsed)} B (heap committed ${per(fillGc.memory.heapTotal, idleMem.heapTotal)} B), ` +
      `ArrayBuffers (payload slabs) ${per(fillGc.memory.arrayBuffers, idleMem.arrayBuffers)} B, ` +
      `RSS neither accounts for (the engine's typed-array columns among it) ${per(after - fillGc.memory.heapTotal - fillGc.memory.external, idle - idleMem.heapTotal - idleMem.external)} B. ` +
      `Depth of bulk: ready ${fmt(depth.ready)} (${depth.ready === N ? 'equals' : 'DIFFERS FROM'} N), in flight ${depth.inFlight}, delayed ${depth.delayed}.\n`,
  );
  console.log(
    `After the L phase and a full GC (a diagnostic, not the figure above): RSS ${per(afterFullGc, idle)} B per message, JS heap used ${per(compacted.heapUsed, idleMem.heapUsed)} B ` +
      `(committed ${per(compacted.heapTotal, idleMem.heapTotal)} B), ArrayBuffers ${per(compacted.arrayBuffers, idleMem.arrayBuffers)} B.\n`,
  );
  console.log('| scenario | p50 ms | p99 ms | max ms | server longest GC ms | client longest GC ms |');
  console.log('|---|--:|--:|--:|--:|--:|');
  for (const [name, r] of [
    ['L, other queue empty', empty],
    [`L, other queue holds ${fmt(N)}`, backlog],
  ] as const) {
    console.log(`| ${name} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.serverGc.maxMs)} (${r.serverGc.maxKind}) | ${ms(r.clientGc.maxMs)} |`);
  }
  console.log(`\nLoad average (1 min) ${loadBefore.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end, on ${availableParallelism()} cores.`);
  console.log(`\nTargets: p99 ≤ 1 ms and max ≤ 10 ms in both rows; ≤ ${BEANSTALKD_BYTES} B per queued message.`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
