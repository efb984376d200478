// Many subscriptions acking on one client, against the server's HTTP/2 receive window
// (issue 7, target 7's streams axis; src/server/receive-window.ts). For each window in
// --windows, alternating over --rounds: a server started with `--receive-window W` and
// `--storage memory` holds --messages messages; one client opens --streams subscriptions of
// --in-flight each and acks every message on its own with `message.ack()`. Prints D, the
// client's CPU per message, its scavenge and mark-compact time, and how long an ack waited
// for its answer (from ack() to its promise settling). Needs `make build client` and
// `npx tsc -p tsconfig.bench.json` (bench/server-process.ts). Asserts nothing.
//
//   node bench/ack-window.mjs [--messages 200000] [--streams 256] [--in-flight 64] [--windows 65535,8MiB] [--rounds 2]
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    streams: { type: 'string', default: '256' },
    'in-flight': { type: 'string', default: '64' },
    windows: { type: 'string', default: '65535,8MiB' },
    rounds: { type: 'string', default: '2' },
  },
});
const ROOT = new URL('..', import.meta.url).pathname;
const N = Number(values.messages);
const STREAMS = Number(values.streams);
const IN_FLIGHT = Number(values['in-flight']);
const WINDOWS = values.windows.split(',');
const ROUNDS = Number(values.rounds);
const { CoraMQClient } = await import(join(ROOT, 'client/dist/esm/index.mjs'));
const { serverNodeArgs } = (await import(join(ROOT, 'dist/src/server/node-flags.js'))).default;
const { startServer } = (await import(join(ROOT, 'dist/bench/server-process.js'))).default;

const gc = { scavenge: 0, markCompact: 0, on: false };
new PerformanceObserver((list) => {
  if (!gc.on) return;
  for (const e of list.getEntries()) {
    if (e.detail?.kind === 1) gc.scavenge += e.duration;
    else gc.markCompact += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

async function run(window) {
  const server = await startServer(serverNodeArgs(), ['--storage', 'memory', '--receive-window', window]);
  const producer = new CoraMQClient(server.address);
  const consumer = new CoraMQClient(server.address);
  const subs = [];
  try {
    await producer.createQueue('acks');
    const payload = Buffer.alloc(256, 7);
    for (let i = 0; i < N; i += 500) {
      const n = Math.min(500, N - i);
      await producer.enqueueBatch('acks', Array.from({ length: n }, (_, k) => ({ payload, priority: (i + k) % 10 })));
    }
    await consumer.ready();
    // One ack's wait per slot, filled as answers come: no closure per ack beyond the caller's own.
    const waited = new Float64Array(N);
    let answered = 0;
    let finish;
    const finished = new Promise((resolve) => (finish = resolve));
    gc.scavenge = gc.markCompact = 0;
    gc.on = true;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let s = 0; s < STREAMS; s++) {
      const sub = consumer.subscribe('acks', { maxInFlight: IN_FLIGHT });
      subs.push(sub);
      void (async () => {
        for await (const m of sub) {
          const at = performance.now();
          m.ack().then(
            () => {
              waited[answered++] = performance.now() - at;
              if (answered === N) finish();
            },
            () => {},
          );
        }
      })();
    }
    await finished;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    gc.on = false;
    const sorted = waited.sort();
    const q = (p) => sorted[Math.min(N - 1, Math.floor(N * p))];
    return { d: (N / ms) * 1000, clientUs: (cpu.user + cpu.system) / N, scavenge: gc.scavenge, markCompact: gc.markCompact, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
  } finally {
    await Promise.all(subs.map((s) => s.close()));
    await consumer.close();
    await producer.close();
    await server.stop();
  }
}

const f = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
console.log(`${N} messages, ${STREAMS} subscriptions of ${IN_FLIGHT} in flight on one client, one message.ack() each; windows ${WINDOWS.join(', ')}, ${ROUNDS} round(s) alternating\n`);
console.log('| round | --receive-window | D msg/s | client µs/msg | scavenge ms | mark-compact ms | ack waited p50 / p90 / p99 ms |');
console.log('|--:|--:|--:|--:|--:|--:|--:|');
for (let r = 1; r <= ROUNDS; r++) {
  for (const w of WINDOWS) {
    const x = await run(w);
    console.log(`| ${r} | ${w} | ${f(x.d)} | ${f(x.clientUs, 2)} | ${f(x.scavenge)} | ${f(x.markCompact)} | ${f(x.p50, 1)} / ${f(x.p90, 1)} / ${f(x.p99, 1)} |`);
  }
}
