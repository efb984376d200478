/** A broker on a manual clock with recording consumers, for engine tests. */
import { Broker, type BrokerOptions, type DeadLetterEvent } from '../../src/engine/broker';
import type { Consumer, ConsumerOptions, DeliverySink } from '../../src/engine/consumer';
import { NO_ATTRIBUTES } from '../../src/engine/message';
import type { NewMessage } from '../../src/engine/queue';
import { NULL_JOURNAL } from '../../src/storage/memory-storage';
import type { CoraError } from '../../src/errors';
import { ManualClock } from './manual-clock';

export interface Delivery {
  id: string;
  receipt: string;
  deliveryCount: number;
  visibleAt: number;
  priority: number;
  attributes: Record<string, string>;
  payload: string;
}

export class RecordingSink implements DeliverySink {
  readonly got: Delivery[] = [];
  expiredCount = 0;
  closedWith: CoraError | null = null;
  deliver(m: Parameters<DeliverySink['deliver']>[0]): void {
    this.got.push({
      id: m.id,
      receipt: m.receipt,
      deliveryCount: m.deliveryCount,
      visibleAt: m.visibleAt,
      priority: m.priority,
      attributes: { ...m.attributes },
      payload: Buffer.from(m.payload).toString(),
    });
  }
  expired(): void {
    this.expiredCount++;
  }
  closed(reason: CoraError): void {
    this.closedWith = reason;
  }
  get ids(): string[] {
    return this.got.map((d) => d.id);
  }
}

export function engine(options: Partial<BrokerOptions> = {}) {
  const clock = new ManualClock();
  const deadLetters: DeadLetterEvent[] = [];
  const broker = new Broker({ clock, journal: NULL_JOURNAL, onDeadLetter: (e) => deadLetters.push(e), ...options });
  /** Moves time and runs what became due, as the tick driver would. */
  const advance = (ms: number): void => {
    clock.advance(ms);
    broker.tick();
  };
  const put = (queue: string, m: Partial<NewMessage> & { id?: string | null } = {}) =>
    broker.enqueue(queue, {
      id: m.id ?? null,
      payload: m.payload ?? Buffer.from(m.id ?? 'x'),
      priority: m.priority ?? 0,
      delayMs: m.delayMs ?? 0,
      attributes: m.attributes ?? NO_ATTRIBUTES,
    });
  const consume = (queue: string, o: Partial<ConsumerOptions> = {}): { sink: RecordingSink; consumer: Consumer } => {
    const sink = new RecordingSink();
    const consumer = broker.subscribe(
      queue,
      {
        maxInFlight: o.maxInFlight ?? 100,
        visibilityTimeoutMs: o.visibilityTimeoutMs ?? broker.queue(queue).settings.visibilityTimeoutMs,
        maxMessages: o.maxMessages ?? Infinity,
        idleMs: o.idleMs ?? null,
        deadlineAt: o.deadlineAt ?? null,
      },
      sink,
    );
    return { sink, consumer };
  };
  return { clock, broker, advance, put, consume, deadLetters };
}
