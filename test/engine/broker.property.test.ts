/**
 * Model-based test: random sequences of enqueue / consume / ack / nack / extend / time
 * steps. Whatever happens, no message is held by two deliveries at once, none is delivered
 * before it is ready, none is lost or invented, the counts add up, and the oldest ready
 * message's age is the first ready message's in the queue's order (found from a cursor).
 */
import fc from 'fast-check';
import type { Queue } from '../../src/engine/queue';
import { CoraError } from '../../src/errors';
import { engine, RecordingSink } from '../support/engine';

const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('put' as const), priority: fc.integer({ min: 0, max: 3 }), delay: fc.constantFrom(0, 0, 0, 50, 400), id: fc.option(fc.integer({ min: 0, max: 30 })) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('consume' as const), maxInFlight: fc.integer({ min: 1, max: 4 }), vt: fc.constantFrom(100, 300, 1000) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('ack' as const), pick: fc.nat(), stale: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('nack' as const), pick: fc.nat(), delay: fc.constantFrom(0, 200) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('extend' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('stats' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('purge' as const) }) },
);

/** The oldest ready message's age as a walk over every live message finds it. */
const oldestReadyByWalk = (q: Queue, now: number): number => {
  const first = q.messages().find((m) => m.state === 'ready');
  return first === undefined ? 0 : Math.max(0, now - first.enqueuedAt);
};

test('delivery invariants hold under any sequence of operations', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120 }), fc.boolean(), fc.boolean(), (ops, withDlq, tinyTable) => {
      // A tiny table grows every other message, under whatever else is going on.
      const { broker, put, consume, advance, clock, deadLetters } = engine(tinyTable ? { table: { initialCapacity: 1, growStep: 2 } } : {});
      if (withDlq) broker.createQueue('dlq');
      broker.createQueue('q', withDlq ? { maxDeliveries: 3, deadLetterQueue: 'dlq' } : {});
      const q = broker.queue('q');
      const sinks: { sink: RecordingSink; consumer: ReturnType<typeof consume>['consumer']; seen: number }[] = [];
      const readyAt = new Map<string, number>();
      const current = new Map<string, { receipt: string; visibleAt: number }>(); // deliveries not settled by us
      const enqueues = new Map<string, number>();
      const acks = new Map<string, number>();
      const purged = new Map<string, number>();
      const bump = (m: Map<string, number>, id: string): void => {
        m.set(id, (m.get(id) ?? 0) + 1);
      };
      const everDelivered: { id: string; receipt: string }[] = [];

      const observe = (): void => {
        for (const s of sinks) {
          for (; s.seen < s.sink.got.length; s.seen++) {
            const d = s.sink.got[s.seen];
            const prev = current.get(d.id);
            // Never two live deliveries: the previous one was settled, or its lease had ended.
            if (prev !== undefined) expect(prev.visibleAt).toBeLessThanOrEqual(clock.now());
            expect(clock.now()).toBeGreaterThanOrEqual(readyAt.get(d.id) as number);
            current.set(d.id, { receipt: d.receipt, visibleAt: d.visibleAt });
            everDelivered.push({ id: d.id, receipt: d.receipt });
          }
        }
      };
      const pick = (n: number): { id: string; receipt: string } | undefined =>
        everDelivered.length === 0 ? undefined : everDelivered[n % everDelivered.length];
      const settle = (fn: () => void): void => {
        try {
          fn();
        } catch (e) {
          if (!(e instanceof CoraError) || !['STALE_RECEIPT', 'MESSAGE_NOT_IN_FLIGHT'].includes(e.code)) throw e;
        }
      };

      for (const op of ops) {
        switch (op.t) {
          case 'put': {
            const r = put('q', { id: op.id === null ? null : `id${op.id}`, priority: op.priority, delayMs: op.delay });
            if (!r.duplicate) {
              bump(enqueues, r.id);
              readyAt.set(r.id, clock.now() + op.delay);
            }
            break;
          }
          case 'consume':
            sinks.push({ ...consume('q', { maxInFlight: op.maxInFlight, visibilityTimeoutMs: op.vt }), seen: 0 });
            break;
          case 'ack': {
            const d = pick(op.pick);
            if (d === undefined) break;
            const receipt = op.stale ? 'not-a-receipt' : d.receipt;
            settle(() => {
              broker.ack('q', d.id, receipt);
              bump(acks, d.id);
              current.delete(d.id);
            });
            break;
          }
          case 'nack': {
            const d = pick(op.pick);
            if (d === undefined) break;
            settle(() => {
              broker.nack('q', d.id, d.receipt, op.delay);
              current.delete(d.id);
              readyAt.set(d.id, clock.now() + op.delay);
            });
            break;
          }
          case 'extend': {
            const d = pick(op.pick);
            if (d === undefined) break;
            settle(() => {
              const visibleAt = broker.extendVisibility('q', d.id, d.receipt, 500);
              current.set(d.id, { receipt: d.receipt, visibleAt });
            });
            break;
          }
          case 'close':
            if (sinks.length > 0) broker.unsubscribe(sinks[op.pick % sinks.length].consumer);
            break;
          case 'time':
            advance(op.ms);
            break;
          case 'stats': // only here: the cursor behind it goes stale over the steps between
            for (const queue of withDlq ? [q, broker.queue('dlq')] : [q]) {
              expect(queue.oldestReadyAge(clock.now())).toBe(oldestReadyByWalk(queue, clock.now()));
            }
            break;
          case 'purge':
            for (const m of q.messages()) if (m.state !== 'in-flight') bump(purged, m.id);
            broker.purgeQueue('q');
            break;
        }
        observe();
        // Counts add up, and each live consumer respects its in-flight cap.
        expect(q.readyCount + q.delayedCount + q.inFlightCount).toBe(q.depth);
        for (const s of sinks) expect(s.consumer.inFlight).toBeLessThanOrEqual(s.consumer.maxInFlight);
        for (const m of q.messages()) {
          if (m.state === 'in-flight') expect(current.get(m.id)?.receipt).toBe(m.receipt);
        }

      }
      // Nothing lost, nothing invented: every enqueue of an id ended in an ack or a dead
      // letter, or is still live.
      const dead = new Map<string, number>();
      deadLetters.forEach((e) => bump(dead, e.id));
      for (const [id, n] of enqueues) {
        expect(n).toBe((acks.get(id) ?? 0) + (dead.get(id) ?? 0) + (purged.get(id) ?? 0) + (q.find(id) >= 0 ? 1 : 0));
      }
      for (const { id } of q.messages()) expect(enqueues.has(id)).toBe(true);
      expect(q.totals.enqueued).toBe([...enqueues.values()].reduce((a, b) => a + b, 0));
    }),
    { numRuns: 300 },
  );
});
