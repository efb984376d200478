/**
 * The write-ahead log in process, no network. Prints figures; asserts nothing.
 *
 *   node --expose-gc dist/bench/wal-inprocess.js [--messages 1000000] [--compact 300000] [--dir /tmp/...]
 *
 * 1. Journal cost: enqueue+deliver+ack cycles per second on the engine thread, with the
 *    in-memory journal and with the WAL (three records per cycle encoded into the log's
 *    buffer; the writes run on the threadpool between chunks of 5,000). bench/cycle-loop.ts.
 * 2. Recovery: `messages` messages of 256 bytes (priorities 0-9) enqueued through the broker
 *    (--fsync never while filling), the storage closed; then a new broker and WalStorage open
 *    the directory: replay of every segment and restore of every message into the engine,
 *    timed from open() to its end, which is what a server does before it listens (target:
 *    1,000,000 in under 5 s). Memory after recovery.
 * 3. Compaction: `compact` messages enqueued and delivered, three in four acked at random
 *    (so dead bytes pass twice the live ones), the storage reopened with compaction on; while
 *    compaction runs, a setImmediate loop records the longest gap between its turns: the
 *    longest event-loop pause compaction caused (and the compactor's own longest step).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { systemClock } from '../src/clock';
import { defaultConfig, type WalConfig } from '../src/config';
import { Broker } from '../src/engine/broker';
import type { DeliverySink } from '../src/engine/consumer';
import { NO_ATTRIBUTES } from '../src/engine/message';
import type { Storage } from '../src/storage/journal';
import { MemoryStorage } from '../src/storage/memory-storage';
import { WalStorage } from '../src/storage/wal/wal-storage';
import { cycleLoop } from './cycle-loop';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '1000000' }, compact: { type: 'string', default: '300000' }, dir: { type: 'string' } } });
const N = Number(values.messages);
const COMPACT = Number(values.compact);
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const log = pino({ level: 'warn' });
const payload = randomBytes(256);

function wal(dir: string, overrides: Partial<WalConfig> = {}): WalStorage {
  return new WalStorage({ ...defaultConfig().wal, ...overrides, dir, log });
}

async function opened(storage: Storage): Promise<Broker> {
  const broker = new Broker({ clock: systemClock, journal: storage.journal });
  await storage.open(broker);
  return broker;
}

/** Engine-thread cycles per second, in chunks with a turn of the event loop (and the log's writes) between. */
async function cycles(storage: Storage, total: number): Promise<number> {
  const broker = await opened(storage);
  broker.createQueue('q', { visibilityTimeoutMs: 30_000 });
  const loop = cycleLoop(broker, 'q');
  let busy = 0;
  for (let done = 0; done < total; done += 5000) {
    const t0 = performance.now();
    loop.run(5000, done);
    busy += performance.now() - t0;
    await storage.commit();
  }
  loop.stop();
  await storage.close();
  return total / (busy / 1000);
}

/** Enqueues `count` messages through the broker, letting the log write between chunks. */
async function fill(storage: WalStorage, broker: Broker, count: number): Promise<void> {
  for (let i = 0; i < count; ) {
    for (const end = Math.min(count, i + 10_000); i < end; i++) broker.enqueue('q', { id: null, payload, priority: i % 10, delayMs: 0, attributes: NO_ATTRIBUTES });
    await storage.maintenanceIdle();
  }
}

async function journalCost(dir: string): Promise<void> {
  const memRate = await cycles(new MemoryStorage(), 1_000_000);
  const walRate = await cycles(wal(dir, { fsync: 'never' }), 1_000_000);
  console.log(`journal cost: enqueue+deliver+ack cycles/s on the engine thread: memory ${fmt(memRate)}, wal ${fmt(walRate)} (${(walRate / memRate).toFixed(2)}×)`);
}

async function recovery(dir: string): Promise<void> {
  let storage = wal(dir, { fsync: 'never' });
  let broker = await opened(storage);
  broker.createQueue('q', { visibilityTimeoutMs: 30_000 });
  const t0 = performance.now();
  await fill(storage, broker, N);
  const stats = storage.stats();
  await storage.close();
  const fillS = (performance.now() - t0) / 1000;
  console.log(`recovery: filled ${fmt(N)} messages of 256 bytes in ${fillS.toFixed(1)} s (${fmt(N / fillS)}/s): ${stats.segments} segments, ${(stats.usedBytes / 2 ** 20).toFixed(0)} MiB of records`);

  broker = null as unknown as Broker;
  gc();
  const before = process.memoryUsage();
  storage = wal(dir);
  const r0 = performance.now();
  broker = await opened(storage);
  const openMs = performance.now() - r0;
  const t1 = performance.now();
  broker.tick();
  const tickMs = performance.now() - t1;
  gc();
  const after = process.memoryUsage();
  console.log(`recovery: ${fmt(broker.queue('q').depth)} messages replayed and restored in ${(openMs / 1000).toFixed(2)} s (first tick ${tickMs.toFixed(0)} ms); target < 5 s`);
  console.log(`recovery: memory after: ${fmt((after.heapUsed + after.external - before.heapUsed - before.external) / N)} B per message (JS heap + buffers), RSS ${(after.rss / 2 ** 20).toFixed(0)} MiB`);
  await storage.close();
}

async function compaction(dir: string): Promise<void> {
  let storage = wal(dir, { fsync: 'never', compactRatio: 1_000_000 });
  let broker = await opened(storage);
  broker.createQueue('q', { visibilityTimeoutMs: 3_600_000 });
  await fill(storage, broker, COMPACT);
  const got: { id: string; receipt: string }[] = [];
  const sink: DeliverySink = { deliver: (m) => void got.push({ id: m.id, receipt: m.receipt }), expired() {}, closed() {} };
  broker.subscribe('q', { maxInFlight: COMPACT, visibilityTimeoutMs: 3_600_000, maxMessages: Infinity, idleMs: null, deadlineAt: null }, sink);
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < got.length; i++) {
    if (random() < 0.75) broker.ack('q', got[i].id, got[i].receipt);
    if (i % 10_000 === 0) await storage.maintenanceIdle();
  }
  await storage.close();

  storage = wal(dir, { fsync: 'always' });
  broker = await opened(storage);
  const before = storage.stats();
  let longestGap = 0;
  let last = performance.now();
  let pinging = true;
  const ping = (): void => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    if (pinging) setImmediate(ping);
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  last = t0;
  setImmediate(ping);
  await storage.maintenanceIdle();
  const ms = performance.now() - t0;
  pinging = false;
  delay.disable();
  const after = storage.stats();
  const c = after.compaction;
  // The same measure with nothing running, as long again: what the runtime (GC) pauses anyway.
  let idleGap = 0;
  last = performance.now();
  await new Promise<void>((resolve) => {
    const end = last + Math.max(ms, 200);
    const idle = (): void => {
      const now = performance.now();
      idleGap = Math.max(idleGap, now - last);
      last = now;
      if (now < end) setImmediate(idle);
      else resolve();
    };
    setImmediate(idle);
  });
  console.log(
    `compaction: ${fmt(COMPACT)} enqueued, ~75% acked: ${before.segments} segments (${(before.usedBytes / 2 ** 20).toFixed(0)} MiB, ${(before.liveBytes / 2 ** 20).toFixed(0)} MiB live) -> ${after.segments} (${(after.usedBytes / 2 ** 20).toFixed(0)} MiB) in ${(ms / 1000).toFixed(2)} s: ${fmt(c.moved)} records (${(c.movedBytes / 2 ** 20).toFixed(0)} MiB) moved in ${fmt(c.steps)} steps, ${c.deleted} segments deleted`,
  );
  console.log(
    `compaction: longest event-loop pause ${longestGap.toFixed(1)} ms (setImmediate gaps; event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms); longest compaction step ${c.longestStepMs.toFixed(1)} ms; idle baseline ${idleGap.toFixed(1)} ms`,
  );
  await storage.close();
}

async function main(): Promise<void> {
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'coramq-bench-wal-'));
  try {
    console.log(`## WAL in process (node ${process.version})\n`);
    await journalCost(join(dir, 'cycles'));
    await recovery(join(dir, 'recovery'));
    rmSync(join(dir, 'recovery'), { recursive: true, force: true });
    await compaction(join(dir, 'compaction'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
