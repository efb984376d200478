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
