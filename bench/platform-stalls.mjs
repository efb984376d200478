// How long this machine stops a process that does nothing, beside a neighbour that holds memory.
// No CoraMQ in it: it tells the platform's share of a latency tail from ours. A child process
// (the neighbour) allocates --sizes MiB, writes every page once, then wakes every millisecond
// to write one byte of one page, as a server with light traffic does (a neighbour that only
// sleeps costs nothing: the stops come when a process holding that much memory runs); meanwhile
// this process runs a 1 ms interval for --seconds and counts the turns that came late by more
// than --late-ms (a stall), with the longest and the median gap between stalls. Each stall is
// split by the kernel's schedstat into time on a CPU, waiting in the run queue, and asleep past
// the timer; beside it, the CPU the kernel's DAMON monitor (kdamond) used per second. Sizes run
// in turn, --rounds times; 0 runs the probe with no neighbour. Prints a table; asserts nothing.
//
//   node bench/platform-stalls.mjs [--sizes 0,400,1200] [--seconds 5] [--rounds 2] [--late-ms 5]
//
// Why (bench/README.md, twelfth session): with 1,000,000 messages queued the server holds
// about 450 MiB, and both the server and the benchmark's client stop for 20-60 ms every half
// second or so, while the server's CPU profile is 95% idle and perf sees its main thread
// neither running nor waiting through those stops. This probe shows the same stops with a
// neighbour that holds memory and does next to nothing.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '0,400,1200' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    'late-ms': { type: 'string', default: '5' },
    neighbour: { type: 'string' }, // internal: run as the neighbour holding this many MiB
  },
});

if (values.neighbour !== undefined) {
  const held = [];
  for (let i = 0; i < Number(values.neighbour); i++) held.push(Buffer.allocUnsafeSlow(1 << 20).fill(i & 0xff));
  process.send('ready');
  process.on('disconnect', () => process.exit(0));
  let k = 0;
  setInterval(() => {
    const page = held[k % held.length];
    page[(k * 4096) % page.length]++;
    k++;
  }, 1);
} else {
  const SIZES = values.sizes.split(',').map(Number);
  const SECONDS = Number(values.seconds);
  const ROUNDS = Number(values.rounds);
  const LATE_MS = Number(values['late-ms']);

  /** Starts a neighbour holding `mib` MiB; resolves once every page is written. */
  const neighbour = (mib) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--neighbour', String(mib)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('message', () => resolve(child));
      child.once('exit', (code) => reject(new Error(`the neighbour exited with ${code}`)));
    });

  /**
   * This thread's time on a CPU and waiting in the run queue for one, in ms, from the kernel's
   * schedstat (read through one open descriptor, so a turn costs one pread). Undefined where
   * the kernel has no schedstat.
   */
  const schedFd = (() => {
    try {
      return openSync('/proc/thread-self/schedstat', 'r');
    } catch {
      return -1;
    }
  })();
  const schedBuf = Buffer.alloc(128);
  const sched = () => {
    if (schedFd < 0) return undefined;
    const [run, wait] = schedBuf.toString('latin1', 0, readSync(schedFd, schedBuf, 0, schedBuf.length, 0)).split(' ');
    return { run: Number(run) / 1e6, wait: Number(wait) / 1e6 };
  };

  /**
   * CPU ms used so far by the kernel's memory-access monitor threads (DAMON's `kdamond.N`),
   * which this VM runs about every 510 ms and which, in the twelfth and fourteenth sessions'
   * traces, ran through every stop over 3 ms; NaN where there are none.
   */
  const kdamondPids = readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('kdamond');
    } catch {
      return false;
    }
  });
  const kdamondMs = () =>
    kdamondPids.length === 0
      ? NaN
      : kdamondPids.reduce((sum, pid) => {
          try {
            return sum + Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
          } catch {
            return sum;
          }
        }, 0);

  /**
   * Runs the 1 ms interval for `seconds`: the late turns (ms late, and when), each with how
   * much of it the thread spent on a CPU (`run`: working, or stopped by the hypervisor, which
   * this guest does not count as steal) and waiting for one in the guest's run queue (`wait`);
   * the rest it slept past its timer (its virtual CPU woke late).
   */
  const probe = (seconds) =>
    new Promise((resolve) => {
      const stalls = [];
      const t0 = performance.now();
      let last = t0;
      let lastSched = sched();
      const kdamondFrom = kdamondMs();
      const timer = setInterval(() => {
        const now = performance.now();
        const s = sched();
        if (now - last - 1 > LATE_MS) stalls.push({ at: now - t0, ms: now - last - 1, run: s ? s.run - lastSched.run : NaN, wait: s ? s.wait - lastSched.wait : NaN });
        last = now;
        lastSched = s;
        if (now - t0 >= seconds * 1000) {
          clearInterval(timer);
          stalls.kdamondMs = kdamondMs() - kdamondFrom;
          resolve(stalls);
        }
      }, 1);
    });

  const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[xs.length >> 1]);
  const rows = new Map(SIZES.map((s) => [s, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mib of SIZES) {
      const child = mib > 0 ? await neighbour(mib) : null;
      const stalls = await probe(SECONDS);
      if (child !== null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.disconnect();
        await exited;
      }
      rows.get(mib).push(stalls);
      const longest = Math.max(0, ...stalls.map((s) => s.ms));
      console.log(`round ${round} neighbour ${mib} MiB: ${stalls.length} stalls over ${LATE_MS} ms, longest ${longest.toFixed(1)} ms, kdamond ran ${stalls.kdamondMs.toFixed(0)} ms`);
    }
  }

  console.log(`\n## Stalls of an idle process (1 ms interval, late by more than ${LATE_MS} ms), ${SECONDS} s per run, ${ROUNDS} run(s) per size\n`);
  console.log('| neighbour holds | stalls per second | longest ms | median stall ms | median gap between stalls ms | stalled time on a CPU / in the run queue / asleep | kdamond CPU ms per second |');
  console.log('|--:|--:|--:|--:|--:|--:|--:|');
  for (const [mib, runs] of rows) {
    const all = runs.flat();
    const gaps = runs.flatMap((r) => r.slice(1).map((s, i) => s.at - r[i].at));
    const fmt = (x) => (Number.isNaN(x) ? '—' : x.toFixed(1));
    const sum = (f) => all.reduce((a, s) => a + f(s), 0);
    const stalled = sum((s) => s.ms + 1);
    const share = (x) => `${Math.round((100 * Math.min(x, stalled)) / stalled)}%`;
    const split = all.length === 0 || Number.isNaN(all[0].run) ? '—' : `${share(sum((s) => s.run))} / ${share(sum((s) => s.wait))} / ${share(Math.max(0, stalled - sum((s) => s.run) - sum((s) => s.wait)))}`;
    console.log(
      `| ${mib === 0 ? 'nothing' : `${mib} MiB`} | ${(all.length / (SECONDS * runs.length)).toFixed(1)} | ${fmt(Math.max(0, ...all.map((s) => s.ms)))} | ${fmt(median(all.map((s) => s.ms)))} | ${fmt(median(gaps))} | ${split} | ${fmt(runs.reduce((a, r) => a + r.kdamondMs, 0) / (SECONDS * runs.length))} |`,
    );
  }
}
