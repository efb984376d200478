/**
 * The storage contract (src/storage/journal.ts), one suite for every implementation: what
 * commit() promises, and what a restart brings back: everything, for a durable storage
 * (in flight comes back with its lease lost), nothing for the in-memory one.
 */
import fc from 'fast-check';
import { Broker } from '../../src/engine/broker';
import { DLQ_ATTRIBUTE } from '../../src/engine/queue';
import { CoraError } from '../../src/errors';
import type { Storage } from '../../src/storage/journal';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { WalStorage } from '../../src/storage/wal/wal-storage';
import { ManualClock } from '../support/manual-clock';
import { engineState, leasesFolded, take, tempDir, walOptions } from '../support/wal';

interface Running {
  broker: Broker;
  clock: ManualClock;
  storage: Storage;
  /** Closes this storage and opens a new one on the same place, into a new broker at the same time. */
  restart(): Promise<Running>;
  close(): Promise<void>;
}

interface Implementation {
  name: string;
  durable: boolean;
  start(): Promise<Running>;
}

async function run(make: () => Storage, time?: number): Promise<Running> {
  const clock = new ManualClock(time);
  const storage = make();
  const broker = new Broker({ clock, journal: storage.journal });
  await storage.open(broker);
  return {
    broker,
    clock,
    storage,
    async restart() {
      await storage.commit();
      await storage.close();
      return run(make, clock.now());
    },
    close: () => storage.close(),
  };
}

const implementations: Implementation[] = [
  { name: 'memory', durable: false, start: () => run(() => new MemoryStorage()) },
  {
    name: 'wal',
    durable: true,
    start: () => {
      const dir = tempDir();
      return run(() => new WalStorage(walOptions(dir, { segmentSize: 16 * 1024, headroom: 512, compactStepBytes: 1024 })));
    },
  },
];

const put = (broker: Broker, queue: string, id: string | null, o: { priority?: number; delayMs?: number; attributes?: Record<string, string> } = {}) =>
  broker.enqueue(queue, { id, payload: Buffer.from(`payload of ${id}`), priority: o.priority ?? 0, delayMs: o.delayMs ?? 0, attributes: o.attributes ?? {} });

describe.each(implementations)('$name storage', (impl) => {
  test('commit() is null while nothing was journaled, and a promise that resolves when something was', async () => {
    const s = await impl.start();
    expect(s.storage.commit()).toBeNull();
    s.broker.createQueue('q');
    put(s.broker, 'q', 'a');
    const pending = s.storage.commit();
    if (impl.durable) expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(s.storage.commit()).toBeNull();
    s.broker.listQueues('', 10);
    expect(s.broker.queue('q').depth).toBe(1);
    expect(s.storage.commit()).toBeNull(); // reading journals nothing
    await s.close();
  });

  test(`every state ${impl.durable ? 'comes back' : 'is gone'} after a restart`, async () => {
    let s = await impl.start();
    const b = s.broker;
    b.createQueue('dlq');
    b.createQueue('jobs', { visibilityTimeoutMs: 30_000, maxDeliveries: 2, deadLetterQueue: 'dlq' });
    b.createQueue('purged');
    b.createQueue('doomed');
    put(b, 'jobs', 'in-flight', { priority: 9 });
    expect(take(b, 'jobs', 1).map((d) => d.id)).toEqual(['in-flight']);
    put(b, 'jobs', 'poison', { priority: 8 });
    b.nack('jobs', 'poison', take(b, 'jobs', 1)[0].receipt, 0);
    expect(take(b, 'jobs', 1).map((d) => d.id)).toEqual(['poison']); // its last delivery, in flight
    put(b, 'jobs', 'dead', { priority: 7 });
    b.nack('jobs', 'dead', take(b, 'jobs', 1)[0].receipt, 0);
    expect(b.nack('jobs', 'dead', take(b, 'jobs', 1)[0].receipt, 0)).toBe(true); // dead-lettered
    put(b, 'jobs', 'acked', { priority: 6 });
    b.ack('jobs', 'acked', take(b, 'jobs', 1)[0].receipt);
    put(b, 'jobs', 'nacked', { priority: 5 });
    b.nack('jobs', 'nacked', take(b, 'jobs', 1)[0].receipt, 10_000);
    put(b, 'jobs', 'ready-1', { priority: 1, attributes: { tenant: 'ü-1' } });
    put(b, 'jobs', 'ready-2', { priority: 1 });
    put(b, 'jobs', 'delayed', { delayMs: 60_000 });
    put(b, 'purged', 'p1');
    put(b, 'purged', 'p2', { delayMs: 5000 });
    expect(b.purgeQueue('purged')).toBe(2);
    put(b, 'doomed', 'x');
    b.deleteQueue('doomed');
    s.clock.advance(1000);
    b.tick();
    const before = engineState(b);

    s = await s.restart();
    if (!impl.durable) {
      expect(engineState(s.broker)).toEqual([]);
      await s.close();
      return;
    }
    expect(engineState(s.broker)).toEqual(before);
    s.broker.tick(); // the lost leases expire
    expect(take(s.broker, 'jobs', 10).map((d) => d.id)).toEqual(['in-flight', 'ready-1', 'ready-2']);
    expect(s.broker.queue('jobs').message('in-flight')?.deliveryCount).toBe(2);
    const dlq = take(s.broker, 'dlq', 10).map((d) => [d.id, s.broker.queue('dlq').message(d.id)?.attributes[DLQ_ATTRIBUTE.reason]]);
    expect(dlq).toEqual([
      ['poison', 'lease-expired'],
      ['dead', 'nacked'],
    ]);
    expect(s.broker.queue('jobs').message('ready-1')?.attributes).toEqual({ tenant: 'ü-1' });
    s.clock.advance(8999);
    s.broker.tick();
    expect(take(s.broker, 'jobs', 10)).toEqual([]);
    s.clock.advance(1);
    s.broker.tick();
    expect(take(s.broker, 'jobs', 10).map((d) => d.id)).toEqual(['nacked']);
    // What the restarted server did is durable too.
    s = await s.restart();
    expect(s.broker.queue('dlq').depth).toBe(2);
    expect(s.broker.queue('jobs').messages().map((m) => m.id).sort()).toEqual(['delayed', 'in-flight', 'nacked', 'ready-1', 'ready-2']);
    expect(s.broker.queue('purged').depth).toBe(0);
    await s.close();
  });

  const op = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), q: fc.nat(2), id: fc.option(fc.nat(40)), priority: fc.nat(3), delay: fc.constantFrom(0, 0, 0, 300), size: fc.nat(1200) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('take' as const), q: fc.nat(2), n: fc.integer({ min: 1, max: 5 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('ack' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('nack' as const), pick: fc.nat(), delay: fc.constantFrom(0, 500) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 800 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('purge' as const), q: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'recreate' as const }) },
    { weight: 3, arbitrary: fc.constant({ t: 'turn' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  );

  test(`after any sequence of operations a restart brings back ${impl.durable ? 'the same state' : 'nothing'}`, async () => {
    const walStats = { moved: 0, deleted: 0 };
    const collect = (s: Running): void => {
      if (!(s.storage instanceof WalStorage)) return;
      const st = s.storage.stats();
      walStats.moved += st.compaction.moved;
      walStats.deleted += st.compaction.deleted;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 200, size: 'max' }), async (ops) => {
        let s = await impl.start();
        const queues = ['a', 'b', 'c'];
        const setup = (b: Broker): void => {
          b.createQueue('dlq');
          b.createQueue('a', { visibilityTimeoutMs: 400, maxDeliveries: 2, deadLetterQueue: 'dlq' });
          b.createQueue('b');
          b.createQueue('c');
        };
        setup(s.broker);
        let taken: { q: string; id: string; receipt: string }[] = [];
        const settle = (fn: () => void): void => {
          try {
            fn();
          } catch (e) {
            if (!(e instanceof CoraError) || !['STALE_RECEIPT', 'MESSAGE_NOT_IN_FLIGHT'].includes(e.code)) throw e;
          }
        };
        try {
          for (const o of ops) {
            const b = s.broker;
            switch (o.t) {
              case 'put':
                b.enqueue(queues[o.q], { id: o.id === null ? null : `m${o.id}`, payload: Buffer.alloc(o.size, o.size), priority: o.priority, delayMs: o.delay, attributes: o.size % 3 === 0 ? { size: String(o.size) } : {} });
                break;
              case 'take':
                for (const d of take(b, queues[o.q], o.n)) taken.push({ q: queues[o.q], ...d });
                break;
              case 'ack':
                if (taken.length > 0) {
                  const d = taken[o.pick % taken.length];
                  settle(() => b.ack(d.q, d.id, d.receipt));
                }
                break;
              case 'nack':
                if (taken.length > 0) {
                  const d = taken[o.pick % taken.length];
                  settle(() => b.nack(d.q, d.id, d.receipt, o.delay));
                }
                break;
              case 'time':
                s.clock.advance(o.ms);
                b.tick();
                break;
              case 'purge':
                b.purgeQueue(queues[o.q]);
                break;
              case 'recreate':
                b.deleteQueue('c');
                b.createQueue('c', { maxDepth: 1000 });
                break;
              case 'turn': // the event loop turns: writes complete, maintenance (segment deletion, compaction) runs
                await s.storage.commit();
                if (s.storage instanceof WalStorage) await s.storage.maintenanceIdle();
                break;
              case 'restart': {
                const before = leasesFolded(engineState(b));
                collect(s);
                s = await s.restart();
                expect(leasesFolded(engineState(s.broker))).toEqual(impl.durable ? before : []);
                if (!impl.durable) setup(s.broker);
                s.broker.tick();
                taken = [];
                break;
              }
            }
          }
          const before = leasesFolded(engineState(s.broker));
          s = await s.restart();
          expect(leasesFolded(engineState(s.broker))).toEqual(impl.durable ? before : []);
          collect(s);
        } finally {
          await s.close();
        }
      }),
      { numRuns: impl.durable ? 40 : 10, interruptAfterTimeLimit: 8000, markInterruptAsFailure: true },
    );
    // The runs went through segment deletion and compaction, not only appends.
    if (impl.durable) expect(walStats).toEqual({ moved: expect.any(Number), deleted: expect.any(Number) });
    if (impl.durable) expect(Math.min(walStats.moved, walStats.deleted)).toBeGreaterThan(0);
  });
});
