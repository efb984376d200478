/**
 * How the engine grows: N messages enqueued through the Broker (in process, no network, no
 * storage) in batches, as EnqueueBatch calls would, into one queue; the longest single
 * `enqueue` and the longest batch (the stops a server's event loop would see), where they
 * happened, the longest enqueue during which the message table grew, the longest GC pause,
 * the total time, and memory per queued message. Prints figures; asserts nothing.
 *
 *   node --expose-gc dist/bench/growth.js [--messages 4000000] [--batch 500] [--top 8]
 *
 * Each batch's payloads are 256-byte views into one buffer per batch, as messages decoded
 * from one request are; priorities 0-9. Memory: `rss` and `heapUsed + external` grown from
 * before the broker existed to after the fill, both after a full GC, divided by N.
 *
 * Then a queue's stats (GetQueue, ListQueues, GET /queues) when its front is N delayed
 * messages with one ready message behind them: the first call and the median of the next
 * 1,000 (the oldest ready message is found from where the last call left off).
 */
import { randomBytes } from 'node:crypto';
import { constants as perf, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock';
import { Broker } from '../src/engine/broker';
import { NO_ATTRIBUTES } from '../src/engine/message';
import { NULL_JOURNAL } from '../src/storage/memory-storage';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '4000000' },
    batch: { type: 'string', default: '500' },
    top: { type: 'string', default: '8' },
  },
});
const N = Number(values.messages);
const BATCH = Number(values.batch);
const TOP = Number(values.top);
const PAYLOAD_BYTES = 256;
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => n.toFixed(2);

const gcPauses: { at: number; ms: number; kind: string }[] = [];
const kinds: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    gcPauses.push({ at: e.startTime, ms: e.duration, kind: kinds[e.detail?.kind ?? 0] ?? 'other' });
  }
});

/** The `count` largest of `xs` by `key`, largest first. */
function largest<T>(xs: T[], count: number, key: (x: T) => number): T[] {
  return [...xs].sort((a, b) => key(b) - key(a)).slice(0, count);
}

async function main(): Promise<void> {
  console.log(`growth bench (node ${process.version}): ${fmt(N)} messages of ${PAYLOAD_BYTES} B into one queue, batches of ${fmt(BATCH)}`);
  gc();
  const before = process.memoryUsage();
  const broker = new Broker({ clock: systemClock, journal: NULL_JOURNAL });
  broker.createQueue('bulk', { visibilityTimeoutMs: 3_600_000 });
  const source = randomBytes(PAYLOAD_BYTES * BATCH);
  /** Enqueues during which the table grew: how long each took. */
  const growths: { at: number; ms: number }[] = [];
  let grew = false;
  broker.table.onGrow(() => (grew = true));
  /** Per batch: its longest single enqueue and where; the whole batch. */
  const stops: { first: number; start: number; batchMs: number; oneMs: number; oneAt: number }[] = [];
  observer.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  for (let first = 0; first < N; first += BATCH) {
    const n = Math.min(BATCH, N - first);
    const request = Buffer.from(source.subarray(0, n * PAYLOAD_BYTES)); // one decoded request
    const b0 = performance.now();
    let oneMs = 0;
    let oneAt = first;
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      broker.enqueue('bulk', {
        id: null,
        payload: request.subarray(i * PAYLOAD_BYTES, (i + 1) * PAYLOAD_BYTES),
        priority: (first + i) % 10,
        delayMs: 0,
        attributes: NO_ATTRIBUTES,
      });
      const d = performance.now() - s;
      if (grew) {
        growths.push({ at: first + i, ms: d });
        grew = false;
      }
      if (d > oneMs) {
        oneMs = d;
        oneAt = first + i;
      }
    }
    stops.push({ first, start: b0, batchMs: performance.now() - b0, oneMs, oneAt });
    await new Promise(setImmediate); // between requests: GC entries are reported here
  }
  const totalMs = performance.now() - t0;
  await new Promise(setImmediate);
  observer.disconnect();
  const depth = broker.queue('bulk').depth;
  gc();
  const after = process.memoryUsage();
  const worst = largest(stops, TOP, (s) => s.oneMs);
  const worstBatch = largest(stops, 1, (s) => s.batchMs)[0];
  const longestGc = largest(gcPauses, 1, (p) => p.ms)[0] ?? { ms: 0, kind: '-', at: 0 };
  const majors = gcPauses.filter((p) => p.kind === 'major');
  /** The first message of the batch running at `time` (performance.now()). */
  const messageAt = (time: number): number => {
    let at = 0;
    for (const s of stops) if (s.start <= time) at = s.first;
    return at;
  };
  console.log(`  queued ${fmt(depth)} (table capacity ${fmt(broker.table.capacity)})`);
  console.log(`  total ${fmt(totalMs)} ms, ${fmt((N / totalMs) * 1000)} enqueues/s`);
  console.log(`  longest single enqueue ${ms(worst[0].oneMs)} ms (message ${fmt(worst[0].oneAt)}); longest batch of ${fmt(BATCH)} ${ms(worstBatch.batchMs)} ms (from message ${fmt(worstBatch.first)})`);
  const worstGrowths = largest(growths, 3, (g) => g.ms);
  console.log(
    `  longest enqueues that grew the table (ms @ message): ${worstGrowths.map((g) => `${ms(g.ms)} @ ${fmt(g.at)}`).join(', ')}; ${growths.length} growths, ${ms(growths.reduce((a, g) => a + g.ms, 0))} ms in all`,
  );
  console.log(`  longest GC pause ${ms(longestGc.ms)} ms (${longestGc.kind}, in the batch from message ${fmt(messageAt(longestGc.at ?? 0))}); ${gcPauses.length} pauses, ${fmt(gcPauses.reduce((a, p) => a + p.ms, 0))} ms in all; ${majors.length} major, longest ${ms(largest(majors, 1, (p) => p.ms)[0]?.ms ?? 0)} ms`);
  console.log(`  memory per queued message: ${fmt((after.rss - before.rss) / N)} B RSS, ${fmt((after.heapUsed + after.external - before.heapUsed - before.external) / N)} B JS heap + buffers`);
  console.log(`  the ${worst.length} longest single enqueues (ms @ message): ${worst.map((s) => `${ms(s.oneMs)} @ ${fmt(s.oneAt)}`).join(', ')}`);
  broker.deleteQueue('bulk');
  statsBehindDelayed(broker, source);
}

/** Stats of a queue whose front is N delayed messages, one ready message behind them. */
function statsBehindDelayed(broker: Broker, source: Buffer): void {
  broker.createQueue('front');
  const payload = source.subarray(0, PAYLOAD_BYTES);
  for (let i = 0; i <= N; i++) broker.enqueue('front', { id: null, payload, priority: 0, delayMs: i < N ? 3_600_000 : 0, attributes: NO_ATTRIBUTES });
  const q = broker.queue('front');
  const now = broker.now();
  let t = performance.now();
  q.stats(now);
  const first = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < 1000; i++) {
    t = performance.now();
    q.stats(now);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`  stats of a queue with ${fmt(N)} delayed messages ahead of its one ready message: first call ${ms(first)} ms, then median ${(times[500] * 1000).toFixed(1)} µs, max ${ms(times[999])} ms`);
}

void main();
