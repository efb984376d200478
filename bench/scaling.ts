/**
 * How cost grows (issue 7, target 7): the shared workload's E, D and L through the client
 * package, against a fresh server (the built CLI as a child process, in memory) per row, along
 * three axes. Prints one table, then per axis the ratio of the largest row to the smallest for E
 * and D, flagged when throughput falls by more than 20%. Asserts nothing.
 *
 *   node dist/bench/scaling.js [--n 50000] [--l-seconds 5] [--l-rate 2000] [--axis queues,streams,backlog]
 *                              [--queues 1,100,10000] [--streams 1,16,256] [--backlog 1000,100000,1000000]
 *                              [--rounds 3] [--profile DIR]
 *
 * --profile DIR runs each server with --cpu-prof: DIR/server-K.cpuprofile per row, and
 * server-K.phases.json with each phase's window, so `node bench/profile-top.mjs --phase E
 * DIR/server-K.cpuprofile` shows where the server spent one phase. Servers run with
 * SERVER_NODE_FLAGS (src/server/node-flags.ts); env CORAMQ_NODE_ARGS adds node flags to every
 * server (as bench/peers/coramq.mjs does), e.g. "--trace-gc".
 *
 * Messages: 256-byte payloads (bytes 0-3 the sequence number, the rest random), priorities
 * 0-9 from a seeded PRNG, as ../shared/peers/WORKLOAD.md. One client connection produces, a
 * second consumes (two CoraMQClient objects).
 *
 * Phases of every row, on a fresh server:
 *   E  N messages to queue `hot`, one `client.enqueue` per message, 64 calls outstanding (the
 *      client coalesces them into batches on its EnqueueStream). msg/s from first call to last
 *      answer.
 *   D  `subscribe('hot', { maxInFlight: 64 })` on each consumer stream, one `message.ack()`
 *      per message as it arrives (coalesced by the client into AckStream batches); the clock
 *      stops when N acks are answered. msg/s.
 *   L  on a separate, empty queue `lat`: the row's consumer streams subscribe, then an open
 *      loop sends `--l-rate` msg/s for `--l-seconds` (one `enqueue` per message, not awaited);
 *      latency = receive - send in this process; p50/p99/max over what arrived.
 *   Before the row's setup, 10,000 messages (at most N) go through E and D on a queue of
 *   their own, deleted afterwards, so that neither process measures its JIT warm-up.
 *   Rows run one after another, and the whole list `--rounds` times (default 3, or 1 when N is
 *   below 10,000: a smoke run); every figure printed is the median over the rounds.
 *   CPU per message is printed for E and D, the server's (utime+stime from /proc, all threads)
 *   and this client process's (process.cpuUsage): it shows the server's cost even where the
 *   client's CPU sets the pace. During L, this process's longest GC pause (perf_hooks) and
 *   longest event-loop delay are printed too, to tell the client's stalls from the server's.
 *
 * The axes (each row varies one thing; everything else is as in the smallest row):
 *   queues   1 / 100 / 10,000 queues exist, and every queue other than `hot` holds 5 messages
 *            (filled before E, five `enqueue` calls per queue at once, so one batch each). E, D and L run on `hot` / `lat` as above, so
 *            the rows answer "does having many queues slow the hot path". An extra row per
 *            size, "E spread", enqueues N messages round-robin over all the queues (one
 *            `enqueue` call each, 64 outstanding): the client coalesces calls whatever their
 *            queue (each entry of a mixed batch names its queue), so this row shows what
 *            spreading messages over many queues costs beside one queue.
 *   streams  1 / 16 / 256 consumer streams (subscriptions on one consumer connection) on `hot`
 *            in D and on `lat` in L, each with maxInFlight 64, as each consumer of the workload
 *            has (so 64, 1,024 and 16,384 unacked in total: adding workers adds prefetch).
 *            E is not varied on this axis (it runs before any consumer); its spread across
 *            the rows is the run's noise.
 *   backlog  1,000 / 100,000 / 1,000,000 messages already in `hot` (enqueueBatch of 1,000
 *            before E, priorities 0-9). E adds N more to `hot`; D drains N of the B+N (the
 *            highest priorities first, so it reaches into the backlog), leaving B queued;
 *            L then runs on `lat` while `hot` still holds B (target 4's "while another queue
 *            holds 1,000,000 messages"). Server RSS after the fill is printed.
 */
import { serverNodeArgs } from '../src/server/node-flags';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CoraMQClient, type ReceivedMessage, type Subscription } from '../client/src';
import { prng } from '../test/support/prng';
import { cpuSeconds, startServer, type ServerProcess } from './server-process';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '50000' },
    'l-seconds': { type: 'string', default: '5' },
    'l-rate': { type: 'string', default: '2000' },
    axis: { type: 'string', default: 'queues,streams,backlog' },
    queues: { type: 'string', default: '1,100,10000' },
    streams: { type: 'string', default: '1,16,256' },
    backlog: { type: 'string', default: '1000,100000,1000000' },
    rounds: { type: 'string' },
    profile: { type: 'string' },
  },
});
const N = Number(values.n);
const L_SECONDS = Number(values['l-seconds']);
const L_RATE = Number(values['l-rate']);
const AXES = values.axis.split(',');
const ROUNDS = Number(values.rounds ?? (N >= 10_000 ? 3 : 1));
const list = (s: string): number[] => s.split(',').map(Number);
const WINDOW = 64;
const PAYLOAD_BYTES = 256;
const FILL_PER_QUEUE = 5;
const FILL_BATCH = 1000;
const WARM_UP = 10_000; // messages through E and D before each row's clocks (at most N)
const FALL = 0.8; // flag a ratio below this

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => n.toFixed(n < 10 ? 2 : 1);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

// ---------- messages ----------

interface Msg {
  payload: Buffer;
  priority: number;
}

/** count messages with sequence numbers base..base+count-1 in bytes 0-3. */
function makeMessages(base: number, count: number, seed: number): Msg[] {
  const rnd = prng(seed);
  const all = randomBytes(count * PAYLOAD_BYTES);
  return Array.from({ length: count }, (_, i) => {
    const payload = all.subarray(i * PAYLOAD_BYTES, (i + 1) * PAYLOAD_BYTES);
    payload.writeUInt32BE(base + i, 0);
    return { payload, priority: Math.floor(rnd() * 10) };
  });
}

/** Runs fn(i) for i in [0, count) with at most `window` calls outstanding. */
async function windowed(count: number, window: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

// ---------- the server ----------

let profileSeq = 0;
/** With --profile: each phase's start and end on the monotonic clock (µs, as V8's profile timestamps). */
let phases: Record<string, [number, number]> = {};
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function startScalingServer(args: string[]): Promise<ServerProcess> {
  const node = serverNodeArgs();
  if (values.profile !== undefined) {
    mkdirSync(values.profile, { recursive: true });
    node.push('--cpu-prof', '--cpu-prof-dir', values.profile, '--cpu-prof-name', `server-${++profileSeq}.cpuprofile`);
  }
  return startServer(node, ['--storage', 'memory', '--log-level', 'info', ...args]);
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

/** Wall-clock msg/s, and µs of CPU per message of the server and of this (client) process, of `run`; `value` is what `run` returned. */
async function timed<T>(phase: string, pid: number, count: number, run: () => Promise<T>): Promise<{ rate: number; cpuUs: number; clientUs: number; value: T }> {
  const from = monoUs();
  const cpu0 = cpuSeconds(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await run();
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(client0);
  phases[phase] = [from, monoUs()];
  return { rate: count / s, cpuUs: ((cpuSeconds(pid) - cpu0) / count) * 1e6, clientUs: (c.user + c.system) / count, value };
}

// ---------- phases ----------

/** E: one enqueue per message, WINDOW outstanding; `queueOf(i)` names message i's queue. */
function enqueuePhase(producer: CoraMQClient, msgs: Msg[], queueOf: (i: number) => string): Promise<void> {
  return windowed(msgs.length, WINDOW, (i) => producer.enqueue(queueOf(i), msgs[i].payload, { priority: msgs[i].priority }));
}

/**
 * Subscribes `streams` streams to `queue`, each maxInFlight WINDOW, calls onMessage for each
 * delivery and acks it; `done` resolves once `until()` is true after an answered ack.
 */
function consumeStreams(consumer: CoraMQClient, queue: string, streams: number, onMessage: (m: ReceivedMessage) => void, until: () => boolean) {
  const subs: Subscription[] = [];
  let acked = 0;
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
  const onAcked = (): void => {
    acked++;
    if (until()) resolveDone();
  };
  const loops = Array.from({ length: streams }, async () => {
    const sub = consumer.subscribe(queue, { maxInFlight: WINDOW });
    subs.push(sub);
    for await (const m of sub) {
      onMessage(m);
      m.ack().then(onAcked, () => {});
    }
  });
  for (const l of loops) l.catch(rejectDone);
  return {
    done,
    acked: () => acked,
    async close() {
      await Promise.all(subs.map((s) => s.close()));
      await Promise.allSettled(loops);
    },
  };
}

/** D; resolves with the ms from subscribing to the first message's arrival. */
async function drainPhase(consumer: CoraMQClient, queue: string, streams: number, count: number): Promise<number> {
  let acks = 0;
  const t0 = performance.now();
  let first = NaN;
  const c = consumeStreams(consumer, queue, streams, () => (first = Number.isNaN(first) ? performance.now() - t0 : first), () => ++acks >= count);
  await c.done;
  await c.close();
  return first;
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
  sent: number;
  received: number;
  /** This (client) process during L: longest GC pause and longest event-loop delay, ms. */
  clientGcMax: number;
  clientLoopMax: number;
}

async function latencyPhase(producer: CoraMQClient, consumer: CoraMQClient, streams: number): Promise<Latency> {
  await producer.createQueue('lat', { visibilityTimeout: 30_000 });
  const total = Math.round(L_RATE * L_SECONDS);
  const base = 1 << 30;
  const msgs = makeMessages(base, total, 2);
  const sentAt = new Float64Array(total).fill(NaN);
  const seen = new Uint8Array(total);
  const samples: number[] = [];
  const c = consumeStreams(
    consumer,
    'lat',
    streams,
    (m) => {
      const i = m.payload.readUInt32BE(0) - base;
      if (i >= 0 && i < total && seen[i] === 0) {
        seen[i] = 1;
        samples.push(performance.now() - sentAt[i]);
      }
    },
    () => sending === false && samples.length >= sent,
  );
  let sent = 0;
  let sending = true;
  await sleep(300);
  let clientGcMax = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) clientGcMax = Math.max(clientGcMax, e.duration);
  });
  gcs.observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * L_RATE) / 1000) + 1);
      while (sent < due) {
        const i = sent++;
        sentAt[i] = performance.now();
        producer.enqueue('lat', msgs[i].payload, { priority: msgs[i].priority }).catch(() => {});
      }
      if (sent < total) setTimeout(tick, 1);
      else {
        sending = false;
        resolve();
      }
    };
    tick();
  });
  await Promise.race([c.done, sleep(10_000)]);
  loop.disable();
  gcs.disconnect();
  await c.close();
  samples.sort((a, b) => a - b);
  const rank = (p: number): number => samples[Math.max(0, Math.ceil(p * samples.length) - 1)] ?? NaN;
  return { p50: rank(0.5), p99: rank(0.99), max: samples[samples.length - 1] ?? NaN, sent, received: samples.length, clientGcMax, clientLoopMax: loop.max / 1e6 };
}

// ---------- rows ----------

interface Row {
  axis: string;
  label: string;
  size: number;
  e?: number;
  eCpu?: number;
  eClient?: number;
  d?: number;
  dCpu?: number;
  dClient?: number;
  /** D: ms from subscribing to the first message. */
  dFirst?: number;
  l?: Latency;
  note: string;
}

interface Scenario {
  axis: string;
  label: string;
  size: number;
  serverArgs: string[];
  streams: number;
  /** Before E: what the row holds (queues, a backlog). Returns a note. */
  setup(producer: CoraMQClient, pid: number): Promise<string>;
  /** An extra phase after L (the queues axis's E spread). */
  extra?(producer: CoraMQClient, pid: number): Promise<Row>;
}

async function fillQueues(producer: CoraMQClient, names: string[]): Promise<void> {
  await windowed(names.length, WINDOW, (i) => producer.createQueue(names[i], { visibilityTimeout: 30_000 }));
  // The messages of one queue are enqueued together, so the client sends them as one batch.
  const fill = makeMessages(1 << 29, FILL_PER_QUEUE, 3);
  await windowed(names.length, WINDOW, async (i) => {
    if (names[i] !== 'hot') await Promise.all(fill.map((m) => producer.enqueue(names[i], m.payload, { priority: m.priority })));
  });
}

/** E and D of `count` messages on a queue of their own, then deleted: both processes JIT-warm before the clocks start. */
async function warmUp(producer: CoraMQClient, consumer: CoraMQClient, count: number): Promise<void> {
  await producer.createQueue('warm', { visibilityTimeout: 30_000 });
  await enqueuePhase(producer, makeMessages(3 << 28, count, 6), () => 'warm');
  await drainPhase(consumer, 'warm', 1, count);
  await producer.deleteQueue('warm');
}

async function fillBacklog(producer: CoraMQClient, count: number): Promise<void> {
  const pool = makeMessages(1 << 28, FILL_BATCH, 4).map((m) => ({ payload: m.payload, priority: m.priority }));
  const batches = Math.ceil(count / FILL_BATCH);
  await windowed(batches, 4, async (b) => {
    const size = Math.min(FILL_BATCH, count - b * FILL_BATCH);
    const res = await producer.enqueueBatch('hot', size === FILL_BATCH ? pool : pool.slice(0, size));
    if (res.some((r) => !r.ok)) throw new Error('backlog fill failed');
  });
}

const queueNames = (count: number): string[] => ['hot', ...Array.from({ length: count - 1 }, (_, i) => `q${i + 1}`)];

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  if (AXES.includes('queues')) {
    for (const q of list(values.queues)) {
      const names = queueNames(q);
      out.push({
        axis: 'queues',
        label: `${fmt(q)} queue${q === 1 ? '' : 's'}`,
        size: q,
        serverArgs: ['--max-queues', String(q + 10)],
        streams: 1,
        async setup(producer) {
          const t0 = performance.now();
          await fillQueues(producer, names);
          return q === 1 ? '' : `${fmt(q - 1)} other queues × ${FILL_PER_QUEUE} msgs (set up in ${((performance.now() - t0) / 1000).toFixed(1)} s)`;
        },
        async extra(producer, pid) {
          const msgs = makeMessages(2 << 28, N, 5);
          const e = await timed('E spread', pid, N, () => enqueuePhase(producer, msgs, (i) => names[i % names.length]));
          return { axis: 'queues (E spread)', label: `${fmt(q)} queue${q === 1 ? '' : 's'}, E round-robin`, size: q, e: e.rate, eCpu: e.cpuUs, eClient: e.clientUs, note: `${fmt(Math.min(N, q))} queues receive` };
        },
      });
    }
  }
  if (AXES.includes('streams')) {
    for (const s of list(values.streams)) {
      out.push({
        axis: 'streams',
        label: `${fmt(s)} stream${s === 1 ? '' : 's'}`,
        size: s,
        serverArgs: ['--max-consumers-per-queue', String(Math.max(1000, s + 10))],
        streams: s,
        async setup(producer) {
          await producer.createQueue('hot', { visibilityTimeout: 30_000 });
          return `${fmt(s * WINDOW)} in flight at most`;
        },
      });
    }
  }
  if (AXES.includes('backlog')) {
    for (const b of list(values.backlog)) {
      out.push({
        axis: 'backlog',
        label: `${fmt(b)} queued`,
        size: b,
        serverArgs: [],
        streams: 1,
        async setup(producer, pid) {
          await producer.createQueue('hot', { visibilityTimeout: 30_000 });
          const rss0 = rssBytes(pid);
          const t0 = performance.now();
          await fillBacklog(producer, b);
          const s = (performance.now() - t0) / 1000;
          return `fill ${s.toFixed(1)} s; server RSS +${fmt((rssBytes(pid) - rss0) / 2 ** 20)} MiB`;
        },
      });
    }
  }
  return out;
}

async function runScenario(sc: Scenario): Promise<Row[]> {
  const server = await startScalingServer(sc.serverArgs);
  const producer = new CoraMQClient(server.address);
  const consumer = new CoraMQClient(server.address);
  try {
    await producer.listQueues(); // connected before any clock starts
    await warmUp(producer, consumer, Math.min(N, WARM_UP));
    const note = await sc.setup(producer, server.pid);
    await consumer.getQueue('hot');
    const msgs = makeMessages(0, N, 1);
    const e = await timed('E', server.pid, N, () => enqueuePhase(producer, msgs, () => 'hot'));
    const d = await timed('D', server.pid, N, () => drainPhase(consumer, 'hot', sc.streams, N));
    const lFrom = monoUs();
    const l = await latencyPhase(producer, consumer, sc.streams);
    phases.L = [lFrom, monoUs()];
    const rows: Row[] = [{ axis: sc.axis, label: sc.label, size: sc.size, e: e.rate, eCpu: e.cpuUs, eClient: e.clientUs, d: d.rate, dCpu: d.cpuUs, dClient: d.clientUs, dFirst: d.value, l, note }];
    if (sc.extra !== undefined) rows.push(await sc.extra(producer, server.pid));
    return rows;
  } finally {
    await consumer.close().catch(() => {});
    await producer.close().catch(() => {});
    await server.stop();
    if (values.profile !== undefined) writeFileSync(join(values.profile, `server-${profileSeq}.phases.json`), JSON.stringify({ row: sc.label, ...phases }));
    phases = {};
  }
}

// ---------- report ----------

const cell = (v: number | undefined, f: (n: number) => string = fmt): string => (v === undefined || Number.isNaN(v) ? '—' : f(v));

const us = (server?: number, client?: number): string => (server === undefined ? '—' : `${server.toFixed(1)}, ${(client as number).toFixed(1)}`);

function printTable(rows: Row[]): void {
  console.log(`\n## How cost grows: N = ${fmt(N)}, median of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, window ${WINDOW}, L ${fmt(L_RATE)} msg/s for ${L_SECONDS} s, in memory\n`);
  console.log('| axis | row | E msg/s | E µs/msg server, client | D msg/s | D µs/msg server, client | D first ms | L p50 ms | L p99 ms | L max ms | L received | L client GC max, loop delay max ms | notes |');
  console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
  for (const r of rows) {
    const l = r.l;
    console.log(
      `| ${r.axis} | ${r.label} | ${cell(r.e)} | ${us(r.eCpu, r.eClient)} | ${cell(r.d)} | ${us(r.dCpu, r.dClient)} | ${cell(r.dFirst, ms)} | ` +
        `${cell(l?.p50, ms)} | ${cell(l?.p99, ms)} | ${cell(l?.max, ms)} | ${l === undefined ? '—' : `${fmt(l.received)}/${fmt(l.sent)}`} | ` +
        `${l === undefined ? '—' : `${ms(l.clientGcMax)}, ${ms(l.clientLoopMax)}`} | ${r.note} |`,
    );
  }
  console.log('\n## Largest row / smallest row, per axis (flagged when throughput falls more than 20%)\n');
  console.log('| axis | from → to | E ratio | D ratio | L p99 (ms) | L max (ms) |');
  console.log('|---|---|--:|--:|--:|--:|');
  const axes = [...new Set(rows.map((r) => r.axis))];
  for (const axis of axes) {
    const of = rows.filter((r) => r.axis === axis).sort((a, b) => a.size - b.size);
    if (of.length < 2) continue;
    const [lo, hi] = [of[0], of[of.length - 1]];
    const ratio = (a?: number, b?: number, varied = true): string => {
      if (a === undefined || b === undefined) return '—';
      const r = b / a;
      return `${r.toFixed(2)}×${varied ? '' : ' (not varied)'}${varied && r < FALL ? ' **FALLS >20%**' : ''}`;
    };
    const lat = (k: 'p99' | 'max'): string => (lo.l === undefined || hi.l === undefined ? '—' : `${ms(lo.l[k])} → ${ms(hi.l[k])}`);
    console.log(`| ${axis} | ${lo.label} → ${hi.label} | ${ratio(lo.e, hi.e, axis !== 'streams')} | ${ratio(lo.d, hi.d)} | ${lat('p99')} | ${lat('max')} |`);
  }
}

const median = (xs: number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor(v.length / 2)];
};

/** One row per (axis, label): each figure the median of that row's rounds. */
function medianRows(rounds: Row[][]): Row[] {
  return rounds[0].map((first, i) => {
    const all = rounds.map((r) => r[i]);
    const m = (f: (r: Row) => number | undefined): number | undefined => (f(first) === undefined ? undefined : median(all.map((r) => f(r) as number)));
    const l =
      first.l === undefined
        ? undefined
        : { p50: m((r) => r.l?.p50)!, p99: m((r) => r.l?.p99)!, max: m((r) => r.l?.max)!, sent: m((r) => r.l?.sent)!, received: m((r) => r.l?.received)!,
            clientGcMax: m((r) => r.l?.clientGcMax)!, clientLoopMax: m((r) => r.l?.clientLoopMax)! };
    return { ...first, e: m((r) => r.e), eCpu: m((r) => r.eCpu), eClient: m((r) => r.eClient), d: m((r) => r.d), dCpu: m((r) => r.dCpu), dClient: m((r) => r.dClient), dFirst: m((r) => r.dFirst), l };
  });
}

async function main(): Promise<void> {
  const rounds: Row[][] = [];
  const t0 = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const rows: Row[] = [];
    for (const sc of scenarios()) {
      for (const r of await runScenario(sc)) {
        rows.push(r);
        const l = r.l === undefined ? '' : `, L p50/p99/max ${ms(r.l.p50)}/${ms(r.l.p99)}/${ms(r.l.max)} ms`;
        console.error(`round ${round} ${r.axis} ${r.label}: E ${cell(r.e)}/s, D ${cell(r.d)}/s${l} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
    rounds.push(rows);
  }
  printTable(medianRows(rounds));
  if (values.profile !== undefined) console.log(`\nServer CPU profiles (one per row, in order): ${values.profile}/server-*.cpuprofile; node bench/profile-top.mjs --phase E|D|L|'E spread' FILE`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
