/**
 * The broker: every queue of the server, the message table and payload store they share,
 * the one timer wheel for delays and leases, the heap of stream wait timers, and the
 * operations the protocol layers call. Pure and synchronous: time comes from the injected
 * clock, and nothing here does I/O or arms a timer. `tick()` does whatever is due and returns
 * when it should next be called; `onWake` says when that moves earlier (server/tick-driver.ts).
 *
 * Inputs are already validated (src/validate.ts); the broker checks what depends on state:
 * existence, duplicates, depth and count limits, receipts.
 */
import type { Clock } from '../clock';
import { CoraError, errors } from '../errors';
import { ServerIds, parseServerId } from '../ids';
import type { Journal, RestoredMessage, RestoreTarget } from '../storage/journal';
import { Consumer, type ConsumerOptions, type DeliverySink } from './consumer';
import { NO_ATTRIBUTES, SlotView } from './message';
import { MessageTable, SlotState, type MessageTableOptions } from './message-table';
import { PayloadStore, type PayloadStoreOptions } from './payload-store';
import { PriorityHeap } from './priority-heap';
import { Queue, type BrokerContext, type DeadLetterReason, type NewMessage, type QueueSettings } from './queue';
import { TimerWheel } from './timer-wheel';

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
  payloads?: Partial<PayloadStoreOptions>;
  /** How the message table starts and grows (tests make it small to cross many growths). */
  table?: Partial<MessageTableOptions>;
  /** The next deadline moved earlier: the driver should call tick() by then. */
  onWake?: (deadline: number) => void;
  onDeadLetter?: (event: DeadLetterEvent) => void;
}

export class Broker implements RestoreTarget {
  readonly limits: EngineLimits;
  readonly table: MessageTable;
  readonly payloads: PayloadStore;
  readonly wheel: TimerWheel;
  private readonly queues = new Map<string, Queue>();
  private readonly queueById: (Queue | undefined)[] = [];
  /** Consumers' wait timers, soonest first. */
  private readonly waits = new PriorityHeap<Consumer>((a, b) => a.waitAt < b.waitAt);
  private readonly serverIds = new ServerIds();
  private seq = 0;
  private readonly clock: Clock;
  private journal: Journal;
  private readonly onWake?: (deadline: number) => void;
  private readonly onDeadLetter?: (event: DeadLetterEvent) => void;
  private readonly ctx: BrokerContext;
  private readonly fire = (slot: number): void => {
    (this.queueById[this.table.queueId[slot]] as Queue).onTimer(slot, this.clock.now());
  };

  constructor(options: BrokerOptions) {
    this.clock = options.clock;
    this.journal = options.journal;
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...options.limits };
    this.onWake = options.onWake;
    this.onDeadLetter = options.onDeadLetter;
    this.table = new MessageTable(options.table);
    this.payloads = new PayloadStore(options.payloads);
    this.wheel = new TimerWheel(this.clock.now(), 256, options.onWake);
    this.table.onGrow((capacity) => {
      this.wheel.grow(capacity);
      this.payloads.grow(capacity);
    });
    const table = this.table;
    const source = {
      table,
      payloads: this.payloads,
      wheel: this.wheel,
      idOf: (slot: number) => this.idOf(slot),
      queueNameOf: (slot: number) => (this.queueById[table.queueId[slot]] as Queue).name,
    };
    const broker = this;
    this.ctx = {
      table,
      payloads: this.payloads,
      wheel: this.wheel,
      get journal() {
        return broker.journal;
      },
      journalView: new SlotView(source),
      deliveryView: new SlotView(source),
      nextSeq: () => ++this.seq,
      idOf: (slot) => this.idOf(slot),
      findQueue: (name) => this.queues.get(name),
      setWait: (c, at) => this.setWait(c, at),
      deadLettered: (from, to, id, reason, deliveryCount) =>
        this.onDeadLetter?.({ from: from.name, to: to?.name ?? null, id, reason, deliveryCount }),
    };
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * The id of the message in `slot`: its client's, or the server id naming seq and slot. The
   * last server id made is kept: (slot, seq) names one message for good, and a message's id
   * is wanted several times in a row (enqueue reply, journal, delivery).
   */
  private idOf(slot: number): string {
    const t = this.table;
    const clientId = t.extras.get(slot)?.clientId;
    if (clientId !== undefined) return clientId;
    const seq = t.seq[slot];
    if (slot !== this.lastIdSlot || seq !== this.lastIdSeq) {
      this.lastIdSlot = slot;
      this.lastIdSeq = seq;
      this.lastId = this.serverIds.make(t.enqueuedAt[slot], seq, slot);
    }
    return this.lastId;
  }

  private lastIdSlot = -1;
  private lastIdSeq = -1;
  private lastId = '';

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
        throw new CoraError('QUEUE_IN_USE', `queue '${name}' is the dead-letter queue of queue '${other.name}'; delete that queue first`);
      }
    }
    this.journal.queueDeleted(name);
    this.queues.delete(name);
    this.queueById[q.id] = undefined;
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
      throw new CoraError('TOO_MANY_CONSUMERS', `queue '${queue}' has ${q.consumers.size} open streams, the limit per queue`);
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

  private setWait(c: Consumer, at: number | null): void {
    if (c.heapIndex >= 0) this.waits.remove(c);
    if (at === null) return;
    c.waitAt = at;
    this.waits.push(c);
    if (this.waits.peek() === c) this.onWake?.(at);
  }

  // ---- time ----

  /** Does everything due by now; returns when to call again (null: nothing scheduled). */
  tick(): number | null {
    const now = this.clock.now();
    this.wheel.advance(now, this.fire);
    for (let c = this.waits.peek(); c !== undefined && c.waitAt <= now; c = this.waits.peek()) {
      this.waits.pop();
      this.consumerExpired(c);
    }
    const wheel = this.wheel.nextDeadline();
    const wait = this.waits.peek()?.waitAt ?? null;
    return wheel === null ? wait : wait === null ? wheel : Math.min(wheel, wait);
  }

  // ---- restore (storage replays into these, before the server listens) ----

  /** Swaps the journal (storage opens after the broker is built). */
  attachJournal(journal: Journal): void {
    this.journal = journal;
  }

  restoreQueue(name: string, settings: QueueSettings, createdAt: number): void {
    this.addQueue(name, settings, createdAt);
  }

  /**
   * Places a message storage replays. A server id keeps its slot when that slot is free
   * (the usual case: slots were distinct before the restart), so it needs no index; any
   * other id (client-chosen, a server id whose slot is taken, or one not matching its record)
   * is indexed as a client id. Storage may refill `r` for every call: everything is copied.
   */
  restoreMessage(queue: string, r: RestoredMessage): void {
    const q = this.queue(queue);
    const t = this.table;
    const named = parseServerId(r.id);
    let slot = -1;
    if (named !== null && named.seq === r.seq) {
      const s = named.slot;
      if (this.serverIds.make(r.enqueuedAt, r.seq, s) === r.id && t.claim(s)) slot = s;
    }
    const clientId = slot >= 0 ? undefined : r.id;
    if (slot < 0) slot = t.alloc();
    t.seq[slot] = r.seq;
    t.enqueuedAt[slot] = r.enqueuedAt;
    t.priority[slot] = r.priority;
    t.deliveryCount[slot] = r.deliveryCount;
    t.queueId[slot] = q.id;
    t.setJournalRef(slot, r.journalRef);
    let hasAttributes = false;
    for (const _ in r.attributes) {
      hasAttributes = true;
      break;
    }
    if (clientId !== undefined || hasAttributes) {
      t.extras.set(slot, { clientId, attributes: hasAttributes ? { ...r.attributes } : undefined });
    }
    this.payloads.put(slot, r.payload);
    if (r.seq > this.seq) this.seq = r.seq;
    q.restore(slot, clientId, r.readyAt, r.leaseLost, this.clock.now());
  }

  private addQueue(name: string, settings: QueueSettings, createdAt: number): Queue {
    const q = new Queue(this.queueById.length, name, settings, createdAt, this.ctx);
    this.queueById.push(q);
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

