/**
 * The message table and everything that grows with it (timer wheel, payload store, ready
 * heaps, sparse columns) across many growths: every message is still there, in order, with
 * its id, priority, payload and attributes; leases and delays taken before a growth still
 * hold after it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Attributes } from '../../src/engine/message';
import { engine } from '../support/engine';

interface Model {
  id: string;
  queue: string;
  seq: number;
  /** Delayed (time does not move until the end) or held by a consumer: not deliverable. */
  ready: boolean;
  priority: number;
  payload: string;
  attributes: Attributes;
}

/** Delivery order: higher priority first, then enqueue order. */
const byDeliveryOrder = (a: Model, b: Model): number => b.priority - a.priority || a.seq - b.seq;

const opArb = fc.record({
  queue: fc.constantFrom('a', 'b', 'c'),
  payload: fc.string({ maxLength: 300 }), // ASCII: the recording sink reads payloads back as text
  priority: fc.integer({ min: 0, max: 9 }),
  attributes: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  clientId: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  delayMs: fc.constantFrom(0, 0, 0, 250),
  /** After the enqueue: 0 takes the queue's next message and acks it, 1 takes it and holds it. */
  then: fc.nat(5),
});

test('messages survive any number of growths: all there, in order, with their payload and attributes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), (ops) => {
      const { broker, put, consume, advance } = engine({
        table: { initialCapacity: 1, growStep: 4 }, // grows every few messages
        payloads: { slabBytes: 512, dedicatedBytes: 200, compactMinBytes: 0 },
      });
      for (const name of ['a', 'b', 'c']) broker.createQueue(name, { visibilityTimeoutMs: 1_000_000 });
      const live = new Map<string, Model>(); // by queue + id
      const held: { queue: string; id: string; receipt: string }[] = [];
      let seq = 0;
      const expectSame = (d: { id: string; priority: number; payload: string; attributes: Attributes }, m: Model | undefined): void => {
        expect(m).toBeDefined();
        expect({ id: d.id, priority: d.priority, payload: d.payload, attributes: d.attributes }).toEqual({
          id: m?.id,
          priority: m?.priority,
          payload: m?.payload,
          attributes: m?.attributes,
        });
      };
      const take = (queue: string): { id: string; receipt: string } | undefined => {
        const { sink, consumer } = consume(queue, { maxInFlight: 1, maxMessages: 1 });
        broker.unsubscribe(consumer);
        const next = [...live.values()].filter((m) => m.queue === queue && m.ready).sort(byDeliveryOrder)[0];
        const d = sink.got[0];
        expect(d?.id).toBe(next?.id);
        if (d === undefined || next === undefined) return undefined;
        expectSame(d, next);
        next.ready = false;
        return d;
      };

      for (const op of ops) {
        const payload = Buffer.from(op.payload);
        const id = op.clientId === undefined ? null : `c${op.clientId}`;
        const r = put(op.queue, { id, payload, priority: op.priority, delayMs: op.delayMs, attributes: op.attributes });
        if (r.duplicate) {
          expect(live.has(op.queue + r.id)).toBe(true);
        } else {
          live.set(op.queue + r.id, {
            id: r.id,
            queue: op.queue,
            seq: seq++,
            ready: op.delayMs === 0,
            priority: op.priority,
            payload: payload.toString(),
            attributes: op.attributes ?? {},
          });
        }
        if (op.then <= 1) {
          const d = take(op.queue);
          if (d !== undefined && op.then === 0) {
            broker.ack(op.queue, d.id, d.receipt);
            live.delete(op.queue + d.id);
          } else if (d !== undefined) {
            held.push({ queue: op.queue, ...d });
          }
        }
      }

      // Every live message, in the order it entered its queue, as it was enqueued.
      for (const queue of ['a', 'b', 'c']) {
        const want = [...live.values()].filter((m) => m.queue === queue).sort((x, y) => x.seq - y.seq);
        const got = broker.queue(queue).messages();
        expect(got.map((m) => m.id)).toEqual(want.map((m) => m.id));
        got.forEach((m, i) => expectSame({ ...m, payload: Buffer.from(m.payload).toString() }, want[i]));
      }
      // Leases taken before later growths still hold their receipts.
      for (const h of held) {
        broker.ack(h.queue, h.id, h.receipt);
        live.delete(h.queue + h.id);
      }
      // The rest comes out in delivery order once every delay is over.
      advance(1_000);
      for (const queue of ['a', 'b', 'c']) {
        const want = [...live.values()].filter((m) => m.queue === queue).sort(byDeliveryOrder);
        const { sink } = consume(queue, { maxInFlight: 1_000 });
        expect(sink.ids).toEqual(want.map((m) => m.id));
        sink.got.forEach((d, i) => expectSame(d, want[i]));
      }
    }),
    { numRuns: 150 },
  );
});

test.each([
  ['the default table, past its growth step (2^16 slots)', {}, 140_000], // the table's and the ready heap's in-place steps
  ['a table whose columns outgrow their reservation', { initialCapacity: 1, growStep: 1000, reserve: 1 }, 30_000], // copied at 8,192 and later
])('%s keeps every message, in order, with its payload and attributes', (_, table, n) => {
  const { broker, put, consume } = engine({ table });
  broker.createQueue('big');
  for (let i = 0; i < n; i++) {
    put('big', { payload: Buffer.from(`m${i}`), priority: i % 10, attributes: i % 1000 === 0 ? { i: String(i) } : undefined });
  }
  expect(broker.table.capacity).toBeGreaterThanOrEqual(n);
  const messages = broker.queue('big').messages();
  expect(messages).toHaveLength(n);
  messages.forEach((m, i) => {
    if (Buffer.from(m.payload).toString() !== `m${i}` || m.priority !== i % 10) {
      throw new Error(`message ${i}: payload ${Buffer.from(m.payload).toString()}, priority ${m.priority}`);
    }
  });
  expect(messages[5000].attributes).toEqual({ i: '5000' });
  expect(messages[5001].attributes).toEqual({});
  const { sink } = consume('big', { maxInFlight: n });
  // Priority 9 first (i = 9, 19, 29, ...), each priority in enqueue order.
  const order = sink.got.map((d) => Number(d.payload.slice(1)));
  expect(order).toEqual(Array.from({ length: n }, (_, i) => i).sort((a, b) => (b % 10) - (a % 10) || a - b));
});

test('the default table grows by 2^16 slots at a time once it has 2^16', () => {
  const { broker, put } = engine();
  broker.createQueue('q');
  const sizes: number[] = [];
  broker.table.onGrow((c) => sizes.push(c));
  for (let i = 0; i < 140_000; i++) put('q');
  expect(sizes).toEqual([1024, 2048, 4096, 8192, 16_384, 32_768, 65_536, 131_072, 196_608]);
});

/**
 * Run in a child process limited to 8 GB of address space (`ulimit -v`), where no column
 * can reserve its memory: the built engine (dist/, which `make test` builds first).
 */
const FALLBACK_SCRIPT = `
const dist = process.argv[1];
const { Broker } = require(dist + '/engine/broker.js');
const { NULL_JOURNAL } = require(dist + '/storage/memory-storage.js');
const { NO_ATTRIBUTES } = require(dist + '/engine/message.js');
const clock = { now: () => 1000, setTimer: () => ({}), clearTimer: () => {} };
const broker = new Broker({ clock, journal: NULL_JOURNAL });
broker.createQueue('q');
const n = 150000;
for (let i = 0; i < n; i++) {
  broker.enqueue('q', { id: null, payload: Buffer.from('m' + i), priority: i % 10, delayMs: 0, attributes: NO_ATTRIBUTES });
}
let inOrder = 0;
broker.queue('q').messages().forEach((m, i) => { if (Buffer.from(m.payload).toString() === 'm' + i && m.priority === i % 10) inOrder++; });
const got = [];
broker.subscribe('q', { maxInFlight: n, visibilityTimeoutMs: 60000, maxMessages: Infinity, idleMs: null, deadlineAt: null },
  { deliver: (m) => got.push(Number(Buffer.from(m.payload).toString().slice(1))), expired() {}, closed() {} });
let delivered = 0;
for (let k = 0; k < got.length; k++) {
  const i = got[k], j = got[k - 1];
  if (k === 0 || j % 10 > i % 10 || (j % 10 === i % 10 && j < i)) delivered++;
}
console.log(JSON.stringify({ shared: broker.table.seq.buffer instanceof SharedArrayBuffer, capacity: broker.table.capacity, inOrder, delivered }));
`;

test('without address space to reserve (ulimit -v), columns are ordinary buffers and keep every message', () => {
  const dist = join(__dirname, '..', '..', 'dist', 'src');
  if (!existsSync(join(dist, 'engine', 'columns.js'))) throw new Error(`${dist} is not built: run 'npm run build' (make test does)`);
  const out = execFileSync('sh', ['-c', 'ulimit -v 8000000 && exec "$0" -e "$1" "$2"', process.execPath, FALLBACK_SCRIPT, dist], { encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({ shared: false, capacity: 196_608, inOrder: 150_000, delivered: 150_000 });
});
