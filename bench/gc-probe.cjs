/**
 * GC probe for a process the bench starts but does not change: preloaded with
 * `node --require bench/gc-probe.cjs ...`, it watches V8's garbage-collection pauses through
 * perf_hooks and, on SIGUSR2, writes what it saw since the previous SIGUSR2 as one JSON line to
 * the file named by CORAMQ_GC_PROBE_FILE (replacing it), then starts a new window.
 *
 * The report: { seq, count, maxMs, maxKind, totalMs, byKind: { minor|major|incremental|weakcb:
 * { count, maxMs, totalMs } }, pauses: [[startMs, durationMs], ...] of the pauses of 1 ms or
 * more (at most 10,000; start on the wall clock, performance.timeOrigin + startTime, so
 * another process can line them up with its own events), memory: process.memoryUsage() at
 * the time of the report }.
 * `seq` counts reports (1, 2, ...) so the reader knows the file is the answer to its signal.
 *
 * If the file `<CORAMQ_GC_PROBE_FILE>.full` exists when SIGUSR2 arrives, the probe deletes it
 * and runs a full, compacting GC before it reports (so the memory figures are what is live).
 *
 * Invariants: the probe adds no timer and no handle that keeps the process alive (signal
 * handles are unref'd), so the process exits as it would without it; without
 * CORAMQ_GC_PROBE_FILE it does nothing.
 */
'use strict';
const { PerformanceObserver, constants, performance } = require('node:perf_hooks');
const { writeFileSync, renameSync, rmSync, existsSync } = require('node:fs');
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');

const FILE = process.env.CORAMQ_GC_PROBE_FILE;
if (FILE) {
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const fresh = () => ({ count: 0, maxMs: 0, maxKind: null, totalMs: 0, byKind: {}, pauses: [] });
  let window = fresh();
  let seq = 0;

  const record = (entry) => {
    const kind = KINDS[entry.detail?.kind ?? entry.kind] ?? 'other';
    const ms = entry.duration;
    window.count++;
    window.totalMs += ms;
    if (ms > window.maxMs) {
      window.maxMs = ms;
      window.maxKind = kind;
    }
    const k = (window.byKind[kind] ??= { count: 0, maxMs: 0, totalMs: 0 });
    k.count++;
    k.totalMs += ms;
    if (ms > k.maxMs) k.maxMs = ms;
    if (ms >= 1 && window.pauses.length < 10000) window.pauses.push([performance.timeOrigin + entry.startTime, ms]);
  };

  const observer = new PerformanceObserver((list) => list.getEntries().forEach(record));
  observer.observe({ entryTypes: ['gc'] });

  process.on('SIGUSR2', () => {
    if (existsSync(`${FILE}.full`)) {
      rmSync(`${FILE}.full`);
      setFlagsFromString('--expose-gc');
      runInNewContext('gc')();
    }
    observer.takeRecords().forEach(record); // entries not yet handed to the callback
    seq++;
    const report = { seq, ...window, memory: process.memoryUsage() };
    window = fresh();
    const tmp = `${FILE}.tmp`;
    writeFileSync(tmp, JSON.stringify(report) + '\n');
    renameSync(tmp, FILE);
  });
}
