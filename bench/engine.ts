/**
 * The engine alone, in process (no network): enqueue+dequeue+ack cycles per second, timer
 * wheel insert+cancel per second, and memory per queued message with 1,000,000 queued and
 * 100,000 in flight. Prints figures; asserts nothing.
 *
 *   node --expose-gc dist/bench/engine.js [--messages 1000000] [--in-flight 100000] [--cycles 1000000]
 *   (--cycles sets the cycles per run; the wheel does 5x that many insert+cancel)
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Broker } from '../src/engine/broker';
import type { DeliverySink } from '../src/engine/consumer';
import { NO_ATTRIBUTES } from '../src/engine/message';
import { TimerWheel } from '../src/engine/timer-wheel';
import { systemClock } from '../src/clock';
import { NULL_JOURNAL } from '../src/storage/memory-storage';
import { cycleLoop } from './cycle-loop';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '1000000' }, 'in-flight': { type: 'string', default: '100000' }, cycles: { type: 'string', default: '1000000' } },
});
const CYCLES = Number(values.cycles);
const N = Number(values.messages);
const IN_FLIGHT = Number(values['in-flight']);
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function cycles(total: number): number {
  const broker = new Broker({ clock: systemClock, journal: NULL_JOURNAL });
  broker.createQueue('q', { visibilityTimeoutMs: 30_000 });
  const loop = cycleLoop(broker, 'q');
  const t0 = performance.now();
  loop.run(total);
  const s = (performance.now() - t0) / 1000;
  loop.stop();
  return total / s;
}

function wheelRate(total: number): number {
  const wheel = new TimerWheel(systemClock.now());
  const base = systemClock.now();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const h = i & 1023;
    wheel.add(h, base + 1 + ((i * 7919) % 600_000));
    wheel.cancel(h);
  }
  return total / ((performance.now() - t0) / 1000);
}

function memory(): { perQueued: number; perInFlight: number; rssPerQueued: number } {
  gc();
  const before = process.memoryUsage();
  const broker = new Broker({ clock: systemClock, journal: NULL_JOURNAL });
  broker.createQueue('q', { visibilityTimeoutMs: 3_600_000 });
  const source = randomBytes(256);
  for (let i = 0; i < N; i++) {
    // Each message owns its payload, as one decoded from the wire does.
    broker.enqueue('q', { id: null, payload: Buffer.from(source), priority: i % 10, delayMs: 0, attributes: NO_ATTRIBUTES });
  }
  gc();
  const queued = process.memoryUsage();
  let held = 0;
  const sink: DeliverySink = { deliver: () => void held++, expired() {}, closed() {} };
  broker.subscribe('q', { maxInFlight: IN_FLIGHT, visibilityTimeoutMs: 3_600_000, maxMessages: Infinity, idleMs: null, deadlineAt: null }, sink);
  gc();
  const flying = process.memoryUsage();
  const total = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external; // external includes Buffers
  const q = broker.queue('q');
  console.log(`  queued: ready ${fmt(q.readyCount)}, in flight ${fmt(q.inFlightCount)} (delivered to the sink: ${fmt(held)})`);
  return {
    perQueued: (total(queued) - total(before)) / N,
    perInFlight: (total(flying) - total(queued)) / IN_FLIGHT,
    rssPerQueued: (queued.rss - before.rss) / N,
  };
}

console.log(`engine bench (node ${process.version})`);
cycles(CYCLES / 5); // warm-up
const c = [cycles(CYCLES), cycles(CYCLES), cycles(CYCLES)].sort((a, b) => a - b)[1];
console.log(`  enqueue+dequeue+ack cycles/s (median of 3 x ${fmt(CYCLES)}): ${fmt(c)}   target 1,000,000 -> ${(c / 1e6).toFixed(2)}x`);
wheelRate(CYCLES);
const w = [wheelRate(5 * CYCLES), wheelRate(5 * CYCLES), wheelRate(5 * CYCLES)].sort((a, b) => a - b)[1];
console.log(`  timer wheel insert+cancel/s (median of 3 x ${fmt(5 * CYCLES)}):    ${fmt(w)}   target 5,000,000 -> ${(w / 5e6).toFixed(2)}x`);
const m = memory();
console.log(`  memory per queued 256-byte message (${fmt(N)} queued): ${fmt(m.perQueued)} B (JS heap + buffers), ${fmt(m.rssPerQueued)} B RSS`);
console.log(`  extra memory per in-flight message (${fmt(IN_FLIGHT)} leased): ${fmt(m.perInFlight)} B`);
