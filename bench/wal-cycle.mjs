// Where the time of one durable enqueue round goes (issue 7, target 3): a server with
// `--storage wal --fsync always`, the client package enqueueing one message per call with 64
// calls outstanding (the workload's E), and `perf record` on the server's syscalls for one
// second in the middle of it. From the trace it prints how long the log's O_DSYNC pwrite takes
// under this load, how much of the second the disk had no write in flight, and the steps from
// one write's end to the next one's start: the event loop seeing the write finish, the reply,
// the client's next batch arriving, and the server turning that batch into the next write.
// Needs `make build client`, `npx tsc -p tsconfig.bench.json` (bench/server-process.ts) and perf
// with syscall tracepoints (root); without perf it prints only E. Asserts nothing.
//
//   node bench/wal-cycle.mjs [--messages 300000] [--outstanding 64] [--server-args "--fsync always"]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '300000' },
    outstanding: { type: 'string', default: '64' },
    'server-args': { type: 'string', default: '--fsync always' },
  },
});
const ROOT = new URL('..', import.meta.url).pathname;
const N = Number(values.messages);
const OUTSTANDING = Number(values.outstanding);
const { CoraMQClient } = await import(join(ROOT, 'client/dist/esm/index.mjs'));
const { serverNodeArgs } = (await import(join(ROOT, 'dist/src/server/node-flags.js'))).default;
const { startServer } = (await import(join(ROOT, 'dist/bench/server-process.js'))).default;

const dir = mkdtempSync(join(tmpdir(), 'coramq-wal-cycle-'));
const server = await startServer(serverNodeArgs(), ['--storage', 'wal', '--data-dir', join(dir, 'data'), ...values['server-args'].split(' ').filter(Boolean)]);
const client = new CoraMQClient(server.address);
await client.createQueue('bench');
const payload = Buffer.alloc(256, 7);

let traced = null;
const perfOk = spawnSync('perf', ['--version']).status === 0;
const e0 = performance.now();
let sent = 0;
const worker = async () => {
  while (sent < N) {
    const i = sent++;
    await client.enqueue('bench', payload, { priority: i % 10 });
    if (i === N >> 2 && perfOk) traced = trace(server.pid);
  }
};
await Promise.all(Array.from({ length: OUTSTANDING }, worker));
const rate = N / ((performance.now() - e0) / 1000);
const trace1s = traced === null ? null : await traced;
await client.close();
await server.stop();
rmSync(dir, { recursive: true, force: true });

console.log(`E: ${Math.round(rate).toLocaleString('en-US')} msg/s (${N.toLocaleString('en-US')} messages, ${OUTSTANDING} calls outstanding, ${values['server-args']})`);
if (trace1s === null) console.log(perfOk ? 'the trace did not start' : 'perf is not installed: no trace');
else report(trace1s);

/** perf record of the server's pwrite, epoll, writev and read for one second; resolves to `perf script` lines. */
function trace(pid) {
  const data = join(dir, 'perf.data');
  const events = ['pwrite64', 'epoll_pwait', 'writev', 'read'].flatMap((s) => [`syscalls:sys_enter_${s}`, `syscalls:sys_exit_${s}`]);
  return new Promise((resolve) => {
    const rec = spawn('perf', ['record', '-q', '-o', data, '-e', events.join(','), '-p', String(pid), '--', 'sleep', '1'], { stdio: 'ignore' });
    rec.once('exit', () => {
      try {
        resolve(execFileSync('perf', ['script', '-i', data], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n'));
      } catch {
        resolve(null);
      }
    });
  });
}

function report(lines) {
  if (lines === null) return console.log('perf script failed (tracepoints need root)');
  const ev = [];
  for (const l of lines) {
    const m = /^\s*\S+\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(.*)$/.exec(l);
    if (m !== null) ev.push({ tid: Number(m[1]), t: Number(m[2]) * 1e6, kind: m[3], call: m[4], rest: m[5] });
  }
  if (ev.length === 0) return console.log('the trace is empty (tracepoints need root)');
  const counts = new Map();
  for (const e of ev) if (e.call === 'epoll_pwait') counts.set(e.tid, (counts.get(e.tid) ?? 0) + 1);
  const main = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  // pwrite durations and the time with no write in flight
  const open = new Map();
  const writes = [];
  for (const e of ev) {
    if (e.call !== 'pwrite64') continue;
    if (e.kind === 'enter') open.set(e.tid, e.t);
    else if (open.has(e.tid)) {
      writes.push({ start: open.get(e.tid), end: e.t });
      open.delete(e.tid);
    }
  }
  const span = ev[ev.length - 1].t - ev[0].t;
  const edges = writes.flatMap((w) => [[w.start, 1], [w.end, -1]]).sort((a, b) => a[0] - b[0]);
  let inFlight = 0;
  let idle = 0;
  let last = ev[0].t;
  for (const [t, d] of edges) {
    if (inFlight === 0) idle += t - last;
    inFlight += d;
    last = t;
  }
  // the steps from a write's end to the next write's start
  const steps = { wake: [], reply: [], client: [], batch: [] };
  const next = (from, pred) => {
    for (let j = from + 1; j < ev.length; j++) if (pred(ev[j])) return j;
    return -1;
  };
  for (let i = 0; i < ev.length; i++) {
    if (ev[i].call !== 'pwrite64' || ev[i].kind !== 'exit') continue;
    const j = next(i, (e) => e.tid === main && e.call === 'epoll_pwait' && e.kind === 'exit');
    const k = j < 0 ? -1 : next(j, (e) => e.tid === main && e.call === 'writev' && e.kind === 'enter');
    const l = k < 0 ? -1 : next(k, (e) => e.tid === main && e.call === 'read' && e.kind === 'exit' && Number.parseInt(e.rest, 16) > 1000);
    const q = l < 0 ? -1 : next(l, (e) => e.call === 'pwrite64' && e.kind === 'enter');
    if (q < 0) break;
    steps.wake.push(ev[j].t - ev[i].t);
    steps.reply.push(ev[k].t - ev[j].t);
    steps.client.push(ev[l].t - ev[k].t);
    steps.batch.push(ev[q].t - ev[l].t);
  }
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))];
  };
  const row = (name, xs) => console.log(`| ${name} | ${xs.length} | ${pct(xs, 0.5).toFixed(0)} | ${pct(xs, 0.9).toFixed(0)} |`);
  console.log(`\nOne second of the server's syscalls: ${writes.length} log writes, no write in flight ${((idle / span) * 100).toFixed(0)}% of the time.\n`);
  console.log('| step | count | p50 µs | p90 µs |');
  console.log('|---|--:|--:|--:|');
  row('pwrite (O_DSYNC) of a batch', writes.map((w) => w.end - w.start));
  row('write done → event loop wakes', steps.wake);
  row('→ reply written (writev)', steps.reply);
  row('→ the client\'s next batch read', steps.client);
  row('→ its records written (next pwrite starts)', steps.batch);
}
