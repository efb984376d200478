/**
 * The loop the in-process benchmarks share: one consumer waits on a queue; each cycle
 * enqueues a 256-byte message (priorities 0-9), which is delivered to it at once, and acks
 * it. `run(count, from)` does `count` cycles; `stop()` unsubscribes.
 */
import { randomBytes } from 'node:crypto';
import type { Broker } from '../src/engine/broker';
import type { DeliverySink } from '../src/engine/consumer';
import { NO_ATTRIBUTES } from '../src/engine/message';

export function cycleLoop(broker: Broker, queue: string): { run(count: number, from?: number): void; stop(): void } {
  let id = '';
  let receipt = '';
  const sink: DeliverySink = {
    deliver(m) {
      id = m.id;
      receipt = m.receipt;
    },
    expired() {},
    closed() {},
  };
  const consumer = broker.subscribe(queue, { maxInFlight: 64, visibilityTimeoutMs: 30_000, maxMessages: Infinity, idleMs: null, deadlineAt: null }, sink);
  const payload = randomBytes(256);
  return {
    run(count, from = 0) {
      for (let i = from; i < from + count; i++) {
        broker.enqueue(queue, { id: null, payload, priority: i % 10, delayMs: 0, attributes: NO_ATTRIBUTES });
        broker.ack(queue, id, receipt); // it was delivered at once to the waiting consumer
      }
    },
    stop: () => broker.unsubscribe(consumer),
  };
}
