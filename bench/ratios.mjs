// Prints CoraMQ's figures as ratios of every other row of one results file (same run).
// usage: node bench/ratios.mjs results.jsonl
import fs from 'node:fs';

const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.ok);
const ours = rows.filter((r) => r.system.startsWith('coramq'));
const others = rows.filter((r) => !r.system.startsWith('coramq'));
const ratio = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
for (const o of others.length > 0 ? ours : []) {
  console.log(`\n### ${o.system}: E ${o.E?.msgs_per_s ?? '—'} msg/s, D ${o.D?.msgs_per_s ?? '—'} msg/s, L p99 ${o.L?.p99_ms ?? '—'} ms, ${o.rss?.bytes_per_msg ?? '—'} B/msg\n`);
  console.log('| vs | E ratio | D ratio | L p99 (theirs) | B/msg ratio |');
  console.log('|---|--:|--:|--:|--:|');
  for (const x of others) {
    console.log(`| ${x.system} | ${ratio(o.E?.msgs_per_s, x.E?.msgs_per_s)} | ${ratio(o.D?.msgs_per_s, x.D?.msgs_per_s)} | ${x.L?.p99_ms ?? '—'} | ${ratio(o.rss?.bytes_per_msg, x.rss?.bytes_per_msg)} |`);
  }
}

// Storage variants (coramq-always, coramq-client-always, ...) as ratios of the memory variant
// of the same adapter with the same batching.
const STORAGE = /-(memory|always|interval|never)\b/;
const variants = ours.filter((r) => STORAGE.test(r.system));
const baseline = (r) => variants.find((x) => x.system === r.system.replace(STORAGE, '-memory'));
if (variants.some((r) => !r.system.includes('-memory') && baseline(r))) {
  console.log('\n### CoraMQ storage variants vs the memory variant (same adapter, same batching, same run)\n');
  console.log('| variant | E msg/s | E ratio | D msg/s | D ratio | E server CPU | D server CPU |');
  console.log('|---|--:|--:|--:|--:|--:|--:|');
  for (const r of variants) {
    const m = baseline(r);
    if (m === undefined) continue;
    console.log(`| ${r.system} | ${r.E?.msgs_per_s ?? '—'} | ${ratio(r.E?.msgs_per_s, m.E?.msgs_per_s)} | ${r.D?.msgs_per_s ?? '—'} | ${ratio(r.D?.msgs_per_s, m.D?.msgs_per_s)} | ${r.E?.cpu?.server_pct ?? '—'}% | ${r.D?.cpu?.server_pct ?? '—'}% |`);
  }
}

// Issue 7's targets that this run can judge, each from rows of this same run.
const row = (...names) => rows.find((r) => names.includes(r.system));
const stubs = row('coramq', 'coramq-memory');
const client = row('coramq-client', 'coramq-client-memory');
const always = row('coramq-client-always');
const ceiling = row('grpc-ceiling');
const beanstalkd = row('beanstalkd');
const checks = [];
const vs = (what, a, b, min) => {
  if (a == null || b == null) return;
  const r = a / b;
  checks.push([what, `${Math.round(a)} / ${Math.round(b)}`, `${r.toFixed(2)}×`, `≥ ${min}×`, r >= min ? 'met' : 'missed']);
};
const atMost = (what, v, max) => v != null && checks.push([what, `${v}`, '', `≤ ${max}`, v <= max ? 'met' : 'missed']);
vs('1. stubs E vs grpc-ceiling', stubs?.E?.msgs_per_s, ceiling?.E?.msgs_per_s, 0.9);
vs('1. stubs D vs grpc-ceiling', stubs?.D?.msgs_per_s, ceiling?.D?.msgs_per_s, 0.9);
vs('2. client E vs beanstalkd', client?.E?.msgs_per_s, beanstalkd?.E?.msgs_per_s, 1);
vs('2. client D vs beanstalkd', client?.D?.msgs_per_s, beanstalkd?.D?.msgs_per_s, 1);
vs('3. client fsync always E vs memory', always?.E?.msgs_per_s, client?.E?.msgs_per_s, 0.7);
vs('3. client fsync always D vs memory', always?.D?.msgs_per_s, client?.D?.msgs_per_s, 0.7);
atMost('4. client L p99 ms', client?.L?.p99_ms, 1);
atMost('4. client L max ms', client?.L?.max_ms, 10);
if (checks.length > 0) {
  console.log('\n### Targets of the performance issue this run can judge\n');
  console.log('| target | figures | ratio | wanted | |');
  console.log('|---|--:|--:|--:|---|');
  for (const c of checks) console.log(`| ${c.join(' | ')} |`);
}
