// The functions with the most self time in a V8 CPU profile (node --cpu-prof), as a table:
// self ms, % of samples, function and file:line. For reading the server profiles that
// bench/scaling.js --profile DIR writes; --phase E (or D, L, 'E spread') keeps only the
// samples taken during that phase, from the FILE.phases.json scaling.js writes beside it.
//
//   node bench/profile-top.mjs FILE.cpuprofile [--top 25] [--phase E]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, phase: { type: 'string' } }, allowPositionals: true });
for (const file of positionals) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const [from, to] = values.phase === undefined ? [-Infinity, Infinity] : JSON.parse(readFileSync(file.replace(/\.cpuprofile$/, '.phases.json'), 'utf8'))[values.phase];
  const hits = new Map();
  const dt = prof.timeDeltas;
  let at = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    at += dt[i];
    if (at >= from && at <= to) hits.set(prof.samples[i], (hits.get(prof.samples[i]) ?? 0) + (dt[i + 1] ?? 0));
  }
  const self = new Map();
  let total = 0;
  for (const [id, us] of hits) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  console.log(`\n${file}${values.phase === undefined ? '' : ` (phase ${values.phase})`}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
}
