/**
 * The broker: every queue of the server, the one timer wheel they share, and the operations
 * the protocol layers call. Pure and synchronous: time comes from the injected clock, and
 * nothing here does I/O or arms a timer. `tick()` does whatever is due and returns when it
 * should next be called; `onWake` says when that moves earlier (see server/tick-driver.ts).
 *
 * Inputs are already validated (src/validate.ts); the broker checks what depends on state:
 * existence, duplicates, depth and count limits, receipts.
 */
import type { Clock } from '../clock';
import { CoraError, errors } from '../errors';
import { UlidFactory } from '../ids';
import type { Journal, RestoredMessage, RestoreTarget } from '../storage/journal';
import { Consumer, type ConsumerOptions, type DeliverySink } from './consumer';
import { Message } from './message';
import { Queue, type DeadLetterReason, type NewMessage, type QueueSettings } from './queue';
import { TimerWheel, type TimerEntry } from './timer-wheel';

export interface EngineLimits {
  maxQueues: number;
  /** max_depth of a queue created with max_depth 0. */
  defaultMaxDepth: number;
  maxConsumersPerQueue: number;
  /** visibility_timeout of a queue created without one. */
  defaultVisibilityTimeoutMs: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = {
  maxQueues: 10_000,
  defaultMaxDepth: 10_000_000,
  maxConsumersPerQueue: 1_000,
  defaultVisibilityTimeoutMs: 10_000,
};

/** Queue configuration as requested: unset fields take defaults. */
export interface QueueConfigInput {
  visibilityTimeoutMs?: number;
  maxDeliveries?: number;
  deadLetterQueue?: string;
  maxDepth?: number;
}

export interface DeadLetterEvent {
  from: string;
  /** null: the queue has no dead-letter queue and the message was dropped. */
  to: string | null;
  id: string;
  reason: DeadLetterReason;
  deliveryCount: number;
}

export interface BrokerOptions {
  clock: Clock;
  journal: Journal;
  limits?: Partial<EngineLimits>;
  /** The next deadline moved earlier: the driver should call tick() by then. */
  onWake?: (deadline: number) => void;
  onDeadLetter?: (event: DeadLetterEvent) => void;
}

export class Broker implements RestoreTarget {
  readonly limits: EngineLimits;
  readonly wheel: TimerWheel<TimerEntry>;
  private readonly queues = new Map<string, Queue>();
  private readonly ids = new UlidFactory();
  private seq = 0;
  private readonly clock: Clock;
  private journal: Journal;
  private readonly onDeadLetter?: (event: DeadLetterEvent) => void;
  private readonly fire = (entry: TimerEntry): void => {
    if (entry instanceof Message) entry.queue.onTimer(entry, this.clock.now());
    else if (entry instanceof Consumer) this.consumerExpired(entry);
  };
  /** What queues see of the broker. */
  private readonly ctx;

  constructor(options: BrokerOptions) {
    this.clock = options.clock;
    this.journal = options.journal;
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...options.limits };
    this.onDeadLetter = options.onDeadLetter;
    this.wheel = new TimerWheel(this.clock.now(), 256, options.onWake);
    const broker = this;
    this.ctx = {
      wheel: this.wheel,
      get journal() {
        return broker.journal;
      },
      nextSeq: () => ++this.seq,
      newId: (now: number) => this.ids.next(now),
      findQueue: (name: string) => this.queues.get(name),
      deadLettered: (from: Queue, to: Queue | undefined, m: Message, reason: DeadLetterReason) =>
        this.onDeadLetter?.({ from: from.name, to: to?.name ?? null, id: m.id, reason, deliveryCount: m.deliveryCount }),
    };
  }

  now(): number {
    return this.clock.now();
  }

  // ---- queues ----

  createQueue(name: string, config: QueueConfigInput = {}): Queue {
    if (this.queues.has(name)) throw new CoraError('QUEUE_EXISTS', `queue '${name}' already exists`);
    if (this.queues.size >= this.limits.maxQueues) {
      throw new CoraError('TOO_MANY_QUEUES', `the server holds ${this.queues.size} queues, its limit (max queues)`);
    }
    const settings = this.resolve(name, config);
    const now = this.clock.now();
    this.journal.queueCreated(name, settings, now);
    return this.addQueue(name, settings, now);
  }

  queue(name: string): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw errors.queueNotFound(name);
    return q;
  }

  /** Queues in name order, starting after `after` ('' = from the first). */
  listQueues(after: string, limit: number): Queue[] {
    const names = [...this.queues.keys()].filter((n) => n > after).sort();
    return names.slice(0, limit).map((n) => this.queues.get(n) as Queue);
  }

  get queueCount(): number {
    return this.queues.size;
  }

  deleteQueue(name: string): void {
    const q = this.queue(name);
    for (const other of this.queues.values()) {
      if (other !== q && other.settings.deadLetterQueue === name) {
        throw new CoraError(
          'QUEUE_IN_USE',
          `queue '${name}' is the dead-letter queue of queue '${other.name}'; delete that queue first`,
        );
      }
    }
    this.journal.queueDeleted(name);
    this.queues.delete(name);
    q.destroy(new CoraError('QUEUE_NOT_FOUND', `queue '${name}' was deleted`));
  }

  purgeQueue(name: string): number {
    return this.queue(name).purge();
  }

  // ---- messages ----

  enqueue(queue: string, message: NewMessage): { id: string; duplicate: boolean } {
    return this.queue(queue).enqueue(message, this.clock.now());
  }

  ack(queue: string, id: string, receipt: string | null): void {
    this.queue(queue).ack(id, receipt, this.clock.now());
  }

  /** Returns whether the message ran out of deliveries and left the queue. */
  nack(queue: string, id: string, receipt: string | null, delayMs: number): boolean {
    return this.queue(queue).nack(id, receipt, delayMs, this.clock.now());
  }

  /** Returns when the lease now ends. */
  extendVisibility(queue: string, id: string, receipt: string | null, timeoutMs: number): number {
    return this.queue(queue).extend(id, receipt, timeoutMs, this.clock.now());
  }

  // ---- consumers ----

  /**
   * Registers a consumer: it receives what is ready at once, and later messages the moment
   * they are ready. With idleMs 0 it is ended (sink.expired) right after what was ready.
   */
  subscribe(queue: string, options: ConsumerOptions, sink: DeliverySink): Consumer {
    const q = this.queue(queue);
    if (q.consumers.size >= this.limits.maxConsumersPerQueue) {
      throw new CoraError(
        'TOO_MANY_CONSUMERS',
        `queue '${queue}' has ${q.consumers.size} open streams, the limit per queue`,
      );
    }
    const c = new Consumer(options, sink);
    q.subscribe(c, this.clock.now());
    if (options.idleMs === 0 && c.owner !== null) this.consumerExpired(c);
    return c;
  }

  /** Ends a consumer (its stream closed); its deliveries stay leased until settled or expired. */
  unsubscribe(c: Consumer): void {
    c.owner?.unsubscribe(c);
  }

  /** The consumer's transport can take more again (backpressure lifted). */
  resume(c: Consumer): void {
    c.paused = false;
    c.owner?.offer(c, this.clock.now());
  }

  private consumerExpired(c: Consumer): void {
    c.owner?.unsubscribe(c);
    c.sink.expired();
  }

  // ---- time ----

  /** Does everything due by now; returns when to call again (null: nothing scheduled). */
  tick(): number | null {
    this.wheel.advance(this.clock.now(), this.fire);
    return this.wheel.nextDeadline();
  }

  // ---- restore (storage replays into these, before the server listens) ----

  /** Swaps the journal (storage opens after the broker is built). */
  attachJournal(journal: Journal): void {
    this.journal = journal;
  }

  restoreQueue(name: string, settings: QueueSettings, createdAt: number): void {
    this.addQueue(name, settings, createdAt);
  }

  restoreMessage(queue: string, r: RestoredMessage): void {
    const q = this.queue(queue);
    const m = new Message(q, r.id, r.seq, r.priority, r.payload, r.attributes, r.enqueuedAt);
    m.deliveryCount = r.deliveryCount;
    m.journalRef = r.journalRef;
    if (r.seq > this.seq) this.seq = r.seq;
    q.restore(m, r.readyAt, r.leaseLost, this.clock.now());
  }

  private addQueue(name: string, settings: QueueSettings, createdAt: number): Queue {
    const q = new Queue(name, settings, createdAt, this.ctx);
    this.queues.set(name, q);
    return q;
  }

  private resolve(name: string, config: QueueConfigInput): QueueSettings {
    const dlq = config.deadLetterQueue ?? '';
    if (dlq !== '') {
      if (dlq === name) throw errors.invalid(`queue '${name}' cannot be its own dead-letter queue`);
      if (!this.queues.has(dlq)) {
        throw new CoraError('DEAD_LETTER_QUEUE_NOT_FOUND', `dead-letter queue '${dlq}' does not exist; create it first`);
      }
    }
    return {
      visibilityTimeoutMs: config.visibilityTimeoutMs || this.limits.defaultVisibilityTimeoutMs,
      maxDeliveries: config.maxDeliveries ?? 0,
      deadLetterQueue: dlq,
      maxDepth: config.maxDepth || this.limits.defaultMaxDepth,
    };
  }
}

