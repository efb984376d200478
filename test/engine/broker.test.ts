import { CoraError } from '../../src/errors';
import { DLQ_ATTRIBUTE } from '../../src/engine/queue';
import type { RestoredMessage } from '../../src/storage/journal';
import { engine } from '../support/engine';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoraError) return e.code;
    throw e;
  }
  throw new Error('expected a CoraError');
};

describe('delivery order', () => {
  test('priorities 1,1,3,3,1 for ids 1..5 are delivered as 3,4,1,2,5', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    [1, 1, 3, 3, 1].forEach((priority, i) => put('q', { id: String(i + 1), priority }));
    expect(consume('q').sink.ids).toEqual(['3', '4', '1', '2', '5']);
  });

  test('equal priorities are delivered in enqueue order', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    const ids = Array.from({ length: 50 }, (_, i) => put('q', { priority: 4 }).id);
    expect(consume('q').sink.ids).toEqual(ids);
  });

  test('server-made ids are unique and sort in creation order', () => {
    const { broker, put } = engine();
    broker.createQueue('q');
    const ids = Array.from({ length: 1000 }, () => put('q').id);
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  test('a redelivered message goes back to its original place in line', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 1000 });
    put('q', { id: 'a', priority: 1 });
    const first = consume('q', { maxMessages: 1 });
    expect(first.sink.ids).toEqual(['a']);
    put('q', { id: 'b', priority: 1 });
    put('q', { id: 'c', priority: 1 });
    advance(1000);
    expect(consume('q').sink.ids).toEqual(['a', 'b', 'c']);
  });
});

describe('leases, receipts and acks', () => {
  test('an unacked message is delivered again after its visibility timeout, then acked; the next is delivered', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 10_000 });
    put('q', { id: '5' });
    put('q', { id: '6' });
    const { sink } = consume('q', { maxInFlight: 1 });
    expect(sink.ids).toEqual(['5']);
    advance(9_999);
    expect(sink.ids).toEqual(['5']);
    advance(1);
    expect(sink.ids).toEqual(['5', '5']);
    expect(sink.got[1].deliveryCount).toBe(2);
    broker.ack('q', '5', sink.got[1].receipt);
    expect(sink.ids).toEqual(['5', '5', '6']);
    expect(broker.queue('q').totals).toMatchObject({ delivered: 3, acked: 1, expired: 1 });
  });

  test('a stale receipt is rejected with STALE_RECEIPT; the current one acks; then NOT_FOUND', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 1000 });
    put('q', { id: 'm' });
    const a = consume('q', { maxMessages: 1 });
    advance(1000);
    const b = consume('q', { maxMessages: 1 });
    expect(b.sink.ids).toEqual(['m']);
    expect(codeOf(() => broker.ack('q', 'm', a.sink.got[0].receipt))).toBe('STALE_RECEIPT');
    broker.ack('q', 'm', b.sink.got[0].receipt);
    expect(codeOf(() => broker.ack('q', 'm', b.sink.got[0].receipt))).toBe('MESSAGE_NOT_IN_FLIGHT');
    expect(broker.queue('q').depth).toBe(0);
  });

  test('receipts are 22-character base64url strings, new for every delivery', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 5 });
    for (let i = 0; i < 200; i++) put('q');
    const { sink } = consume('q', { maxInFlight: 1000 });
    advance(5);
    advance(5);
    const receipts = sink.got.map((d) => d.receipt);
    expect(receipts.length).toBe(600);
    expect(new Set(receipts).size).toBe(600);
    receipts.forEach((r) => expect(r).toMatch(/^[A-Za-z0-9_-]{22}$/));
  });

  test('ack of a message that is ready (lease expired, not redelivered) is NOT_FOUND', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 100 });
    put('q', { id: 'm' });
    const { sink, consumer } = consume('q', { maxMessages: 1 });
    broker.unsubscribe(consumer);
    advance(100);
    expect(codeOf(() => broker.ack('q', 'm', sink.got[0].receipt))).toBe('MESSAGE_NOT_IN_FLIGHT');
  });

  test('extendVisibility moves the lease end; the message is not redelivered before it', () => {
    const { broker, put, consume, advance, clock } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 1000 });
    put('q', { id: 'm' });
    const { sink } = consume('q');
    advance(900);
    const visibleAt = broker.extendVisibility('q', 'm', sink.got[0].receipt, 5000);
    expect(visibleAt).toBe(clock.now() + 5000);
    advance(4999);
    expect(sink.ids).toEqual(['m']);
    advance(1);
    expect(sink.ids).toEqual(['m', 'm']);
  });

  test('nack makes the message ready again after its delay, counting the delivery', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q');
    put('q', { id: 'm' });
    const { sink } = consume('q');
    expect(broker.nack('q', 'm', sink.got[0].receipt, 500)).toBe(false);
    expect(broker.queue('q').delayedCount).toBe(1);
    advance(499);
    expect(sink.ids).toEqual(['m']);
    advance(1);
    expect(sink.got.map((d) => d.deliveryCount)).toEqual([1, 2]);
    expect(broker.queue('q').totals.nacked).toBe(1);
  });
});

describe('delays', () => {
  test('a delayed message is not delivered before its time, and is at it', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q', { visibilityTimeoutMs: 120_000 });
    put('q', { id: 'late', delayMs: 60_000, priority: 9 });
    put('q', { id: 'now', priority: 0 });
    const { sink } = consume('q');
    expect(sink.ids).toEqual(['now']);
    advance(59_999);
    expect(sink.ids).toEqual(['now']);
    advance(1);
    expect(sink.ids).toEqual(['now', 'late']);
  });
});

describe('dead-lettering', () => {
  test('after max_deliveries, an expired lease moves the message to the dead-letter queue with attributes', () => {
    const { broker, put, consume, advance, deadLetters } = engine();
    broker.createQueue('dlq');
    broker.createQueue('q', { visibilityTimeoutMs: 100, maxDeliveries: 2, deadLetterQueue: 'dlq' });
    put('q', { id: 'poison', priority: 3, attributes: { tenant: 't1' } });
    const { sink } = consume('q');
    advance(100);
    advance(100);
    expect(sink.ids).toEqual(['poison', 'poison']);
    expect(broker.queue('q').depth).toBe(0);
    const dead = consume('dlq').sink.got;
    expect(dead.map((d) => d.id)).toEqual(['poison']);
    expect(dead[0].priority).toBe(3);
    expect(dead[0].deliveryCount).toBe(1);
    expect(dead[0].attributes).toEqual({
      tenant: 't1',
      [DLQ_ATTRIBUTE.sourceQueue]: 'q',
      [DLQ_ATTRIBUTE.reason]: 'lease-expired',
      [DLQ_ATTRIBUTE.deliveryCount]: '2',
    });
    expect(deadLetters).toEqual([{ from: 'q', to: 'dlq', id: 'poison', reason: 'lease-expired', deliveryCount: 2 }]);
    expect(broker.queue('q').totals.deadLettered).toBe(1);
  });

  test('a nack of the last delivery dead-letters; a live id clash in the dead-letter queue gets a new id', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('dlq');
    broker.createQueue('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
    put('dlq', { id: 'm' });
    put('q', { id: 'm' });
    const { sink } = consume('q');
    expect(broker.nack('q', 'm', sink.got[0].receipt, 0)).toBe(true);
    const dead = consume('dlq').sink.got;
    expect(dead.map((d) => d.id)[0]).toBe('m');
    expect(dead[1].id).not.toBe('m');
    expect(dead[1].attributes[DLQ_ATTRIBUTE.originalId]).toBe('m');
    expect(dead[1].attributes[DLQ_ATTRIBUTE.reason]).toBe('nacked');
  });

  test('without a dead-letter queue the message is dropped and counted', () => {
    const { broker, put, consume, deadLetters } = engine();
    broker.createQueue('q', { maxDeliveries: 1 });
    put('q', { id: 'm' });
    const { sink } = consume('q');
    expect(broker.nack('q', 'm', sink.got[0].receipt, 0)).toBe(true);
    expect(broker.queue('q').depth).toBe(0);
    expect(deadLetters[0].to).toBeNull();
  });

  test('a dead-letter queue must exist and may not be the queue itself; one in use cannot be deleted', () => {
    const { broker } = engine();
    expect(codeOf(() => broker.createQueue('q', { deadLetterQueue: 'nope' }))).toBe('DEAD_LETTER_QUEUE_NOT_FOUND');
    expect(codeOf(() => broker.createQueue('q', { deadLetterQueue: 'q' }))).toBe('INVALID_ARGUMENT');
    broker.createQueue('dlq');
    broker.createQueue('q', { deadLetterQueue: 'dlq' });
    expect(codeOf(() => broker.deleteQueue('dlq'))).toBe('QUEUE_IN_USE');
    broker.deleteQueue('q');
    broker.deleteQueue('dlq');
    expect(broker.queueCount).toBe(0);
  });
});

describe('consumers', () => {
  test('max_in_flight holds back deliveries until acks free room', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    for (let i = 0; i < 5; i++) put('q', { id: `m${i}` });
    const { sink } = consume('q', { maxInFlight: 2 });
    expect(sink.ids).toEqual(['m0', 'm1']);
    broker.ack('q', 'm1', sink.got[1].receipt);
    expect(sink.ids).toEqual(['m0', 'm1', 'm2']);
    broker.nack('q', 'm0', sink.got[0].receipt, 0);
    expect(sink.ids).toEqual(['m0', 'm1', 'm2', 'm0']);
  });

  test('competing consumers are served round robin', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    const a = consume('q');
    const b = consume('q');
    const c = consume('q');
    for (let i = 0; i < 9; i++) put('q');
    expect([a.sink.got.length, b.sink.got.length, c.sink.got.length]).toEqual([3, 3, 3]);
  });

  test('a paused consumer gets nothing until resumed', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    const a = consume('q');
    a.consumer.paused = true;
    put('q', { id: 'x' });
    expect(a.sink.ids).toEqual([]);
    broker.resume(a.consumer);
    expect(a.sink.ids).toEqual(['x']);
  });

  test('a consumer ends after max_messages; one with idle 0 takes what is ready and ends', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    for (let i = 0; i < 5; i++) put('q');
    const limited = consume('q', { maxMessages: 2 });
    expect(limited.sink.got.length).toBe(2);
    expect(limited.consumer.hasCapacity).toBe(false);
    const now = consume('q', { idleMs: 0 });
    expect(now.sink.got.length).toBe(3);
    expect(now.sink.expiredCount).toBe(1);
    expect(broker.queue('q').consumers.size).toBe(1);
  });

  test('the wait timer ends a consumer when no message arrived for idleMs, and restarts on each delivery', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q');
    const { sink } = consume('q', { idleMs: 1000 });
    advance(600);
    put('q');
    advance(600);
    expect(sink.expiredCount).toBe(0);
    advance(400);
    expect(sink.expiredCount).toBe(1);
    put('q');
    expect(sink.got.length).toBe(1);
  });

  test('a deleted queue ends its consumers with QUEUE_NOT_FOUND', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    put('q');
    const { sink } = consume('q');
    broker.deleteQueue('q');
    expect(sink.closedWith?.code).toBe('QUEUE_NOT_FOUND');
    expect(codeOf(() => broker.ack('q', sink.got[0].id, sink.got[0].receipt))).toBe('QUEUE_NOT_FOUND');
  });

  test('too many consumers on one queue is refused', () => {
    const { broker, consume } = engine({ limits: { maxConsumersPerQueue: 2 } });
    broker.createQueue('q');
    consume('q');
    consume('q');
    expect(codeOf(() => consume('q'))).toBe('TOO_MANY_CONSUMERS');
  });
});

describe('queues and limits', () => {
  test('a live id is not enqueued twice; after its ack it can be enqueued again', () => {
    const { broker, put, consume } = engine();
    broker.createQueue('q');
    expect(put('q', { id: 'a' })).toEqual({ id: 'a', duplicate: false });
    expect(put('q', { id: 'a' })).toEqual({ id: 'a', duplicate: true });
    const { sink } = consume('q', { maxMessages: 1 });
    expect(put('q', { id: 'a' })).toEqual({ id: 'a', duplicate: true });
    broker.ack('q', 'a', sink.got[0].receipt);
    expect(put('q', { id: 'a' })).toEqual({ id: 'a', duplicate: false });
    expect(broker.queue('q').totals.enqueued).toBe(2);
  });

  test('max_depth and max queues are enforced', () => {
    const { broker, put } = engine({ limits: { maxQueues: 2 } });
    broker.createQueue('q', { maxDepth: 2 });
    put('q');
    put('q');
    expect(codeOf(() => put('q'))).toBe('QUEUE_FULL');
    broker.createQueue('r');
    expect(codeOf(() => broker.createQueue('s'))).toBe('TOO_MANY_QUEUES');
    expect(codeOf(() => broker.createQueue('q'))).toBe('QUEUE_EXISTS');
    expect(codeOf(() => broker.queue('nope'))).toBe('QUEUE_NOT_FOUND');
  });

  test('purge drops ready and delayed messages, keeps those in flight', () => {
    const { broker, put, consume, advance } = engine();
    broker.createQueue('q');
    put('q', { id: 'flying' });
    const { sink } = consume('q', { maxMessages: 1 });
    put('q', { id: 'ready' });
    put('q', { id: 'delayed', delayMs: 1000 });
    expect(broker.purgeQueue('q')).toBe(2);
    advance(2000);
    const q = broker.queue('q');
    expect([q.readyCount, q.delayedCount, q.inFlightCount, q.depth]).toEqual([0, 0, 1, 1]);
    broker.ack('q', 'flying', sink.got[0].receipt);
    expect(q.depth).toBe(0);
  });

  test('oldest ready age and live counts', () => {
    const { broker, put, consume, clock } = engine();
    broker.createQueue('q');
    put('q', { id: 'a' });
    clock.advance(500);
    put('q', { id: 'b' });
    put('q', { id: 'c', delayMs: 10_000 });
    clock.advance(250);
    const q = broker.queue('q');
    expect(q.oldestReadyAge(clock.now())).toBe(750);
    consume('q', { maxMessages: 1 });
    expect(q.oldestReadyAge(clock.now())).toBe(250);
    expect([q.readyCount, q.delayedCount, q.inFlightCount]).toEqual([1, 1, 1]);
  });

  test('oldest ready age: a message ready again ahead of the last answer is the oldest', () => {
    const { broker, put, consume, advance, clock } = engine();
    broker.createQueue('q');
    const q = broker.queue('q');
    put('q', { id: 'a' });
    advance(100);
    put('q', { id: 'b' });
    advance(100);
    const { sink, consumer } = consume('q', { maxInFlight: 1 });
    expect(sink.got.map((m) => m.id)).toEqual(['a']);
    expect(q.oldestReadyAge(clock.now())).toBe(100); // b
    broker.unsubscribe(consumer);
    broker.nack('q', 'a', sink.got[0].receipt, 0);
    expect(q.oldestReadyAge(clock.now())).toBe(200); // a again, ahead of b
  });

  test('oldest ready age: a message that left is not looked at, whatever its slot holds next', () => {
    const { broker, put, consume, advance, clock } = engine();
    broker.createQueue('q');
    broker.createQueue('other');
    const q = broker.queue('q');
    put('q', { id: 'a' });
    advance(100);
    put('q', { id: 'b' });
    expect(q.oldestReadyAge(clock.now())).toBe(100); // a
    const { sink } = consume('q', { maxInFlight: 1 });
    broker.ack('q', 'a', sink.got[0].receipt); // b goes out to the stream
    advance(50);
    put('other', { id: 'x' }); // takes a's slot (the last freed)
    advance(20);
    put('q', { id: 'c' });
    advance(10);
    expect(q.oldestReadyAge(clock.now())).toBe(10); // c, not x of the other queue (30)
  });

  test('listQueues pages in name order', () => {
    const { broker } = engine();
    ['c', 'a', 'b', 'd'].forEach((n) => broker.createQueue(n));
    expect(broker.listQueues('', 2).map((q) => q.name)).toEqual(['a', 'b']);
    expect(broker.listQueues('b', 10).map((q) => q.name)).toEqual(['c', 'd']);
  });
});

describe('restore (what storage replays at start)', () => {
  const restored = (id: string, seq: number, extra: Partial<RestoredMessage> = {}): RestoredMessage => ({
    id,
    seq,
    priority: 0,
    payload: Buffer.from(id),
    attributes: {},
    enqueuedAt: 1,
    deliveryCount: 0,
    readyAt: 0,
    leaseLost: false,
    journalRef: null,
    ...extra,
  });
  const settings = { visibilityTimeoutMs: 1000, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 100 };

  test('ready and delayed messages come back in their places; new messages get later sequence numbers', () => {
    const { broker, clock, consume, advance } = engine();
    broker.restoreQueue('q', settings, 5);
    broker.restoreMessage('q', restored('late', 7, { readyAt: clock.now() + 500 }));
    broker.restoreMessage('q', restored('b', 4));
    broker.restoreMessage('q', restored('a', 3, { priority: 1 }));
    broker.enqueue('q', { id: 'c', payload: Buffer.from('c'), priority: 0, delayMs: 0, attributes: {} });
    const { sink } = consume('q');
    expect(sink.ids).toEqual(['a', 'b', 'c']);
    advance(499);
    expect(sink.ids).toHaveLength(3);
    advance(1);
    expect(sink.ids).toEqual(['a', 'b', 'c', 'late']);
    expect(broker.queue('q').find('c')).toBeGreaterThanOrEqual(0);
    expect(broker.table.seq[broker.queue('q').find('c')]).toBe(8);
  });

  test('a message whose lease was lost comes back ready at the next tick, keeping its delivery count and place', () => {
    const { broker, consume } = engine();
    broker.restoreQueue('q', settings, 5);
    broker.restoreMessage('q', restored('first', 1, { deliveryCount: 2, leaseLost: true }));
    broker.restoreMessage('q', restored('second', 2));
    expect(broker.queue('q').inFlightCount).toBe(1);
    // No receipt holds it, not even the one its slot's blank receipt words would spell.
    expect(() => broker.ack('q', 'first', 'A'.repeat(22))).toThrow(expect.objectContaining({ code: 'STALE_RECEIPT' }));
    broker.tick();
    const { sink } = consume('q');
    expect(sink.got.map((d) => [d.id, d.deliveryCount])).toEqual([
      ['first', 3],
      ['second', 1],
    ]);
    expect(broker.queue('q').totals.expired).toBe(1);
  });

  test('a lost lease on the last allowed delivery dead-letters the message (lease-expired), or drops it without a dead-letter queue', () => {
    const { broker, consume, deadLetters } = engine();
    broker.restoreQueue('dlq', settings, 5);
    broker.restoreQueue('q', { ...settings, maxDeliveries: 3, deadLetterQueue: 'dlq' }, 5);
    broker.restoreQueue('nodlq', { ...settings, maxDeliveries: 1 }, 5);
    broker.restoreMessage('q', restored('poison', 1, { deliveryCount: 3, leaseLost: true }));
    broker.restoreMessage('q', restored('fine', 2, { deliveryCount: 2, leaseLost: true }));
    broker.restoreMessage('nodlq', restored('gone', 3, { deliveryCount: 1, leaseLost: true }));
    broker.tick();
    expect(deadLetters.map((e) => [e.id, e.to, e.reason]).sort()).toEqual([
      ['gone', null, 'lease-expired'],
      ['poison', 'dlq', 'lease-expired'],
    ]);
    expect(consume('dlq').sink.got.map((d) => [d.id, d.attributes[DLQ_ATTRIBUTE.deliveryCount]])).toEqual([['poison', '3']]);
    expect(consume('q').sink.got.map((d) => [d.id, d.deliveryCount])).toEqual([['fine', 3]]);
    expect(broker.queue('nodlq').depth).toBe(0);
  });
});

describe('restore: server ids and slots', () => {
  test('restored messages keep their ids (a server id keeps the slot it names when free), and new ids never collide', () => {
    const first = engine();
    first.broker.createQueue('q');
    const a = first.put('q', { priority: 1 }).id;
    first.put('q', { id: 'client-b', priority: 1, attributes: { k: 'v' } });
    const c = first.put('q', { priority: 5, delayMs: 60_000 }).id;
    const settings = first.broker.queue('q').settings;
    const enqueuedAt = first.clock.now();

    const second = engine();
    second.broker.restoreQueue('q', settings, 0);
    const now = second.clock.now();
    const out: RestoredMessage = { id: '', seq: 0, priority: 0, payload: Buffer.alloc(0), attributes: {}, enqueuedAt, deliveryCount: 0, readyAt: now, leaseLost: false, journalRef: null };
    // One object refilled for every call, as the WAL does: the broker must copy.
    const give = (id: string, seq: number, priority: number, extra: Partial<RestoredMessage> = {}): void => {
      Object.assign(out, { id, seq, priority, payload: Buffer.from(id), attributes: {}, enqueuedAt, readyAt: now, ...extra });
      second.broker.restoreMessage('q', out);
    };
    give(c, 3, 5, { readyAt: now + 60_000 });
    give('client-b', 2, 1, { attributes: { k: 'v' }, deliveryCount: 1 });
    give(a, 1, 1);
    const got = second.consume('q').sink.got;
    expect(got.map((g) => [g.id, g.payload])).toEqual([
      [a, a],
      ['client-b', 'client-b'],
    ]);
    expect(got[1]).toMatchObject({ attributes: { k: 'v' }, deliveryCount: 2 });
    expect(second.broker.table.size).toBe(3);
    second.broker.ack('q', a, got[0].receipt);
    second.broker.ack('q', 'client-b', got[1].receipt);
    second.advance(60_000);
    expect(got.map((g) => g.id)).toEqual([a, 'client-b', c]);
    // Fresh messages get fresh ids; a restored id is still found (a duplicate) until acked.
    const fresh = second.put('q').id;
    expect([a, c]).not.toContain(fresh);
    expect(second.put('q', { id: c })).toEqual({ id: c, duplicate: true });
    second.broker.ack('q', c, got[2].receipt);
    expect(second.put('q', { id: a })).toEqual({ id: a, duplicate: false });
  });

  test('a server-form id whose slot is taken, or that does not match its record, is kept as given', () => {
    const first = engine();
    first.broker.createQueue('q');
    const a = first.put('q').id;
    const b = first.put('q').id;
    const settings = first.broker.queue('q').settings;
    const second = engine();
    second.broker.restoreQueue('q', settings, 0);
    second.broker.createQueue('other');
    const taken = second.put('other').id; // takes slot 0, the slot a names
    const base = { priority: 0, payload: Buffer.from('x'), attributes: {}, deliveryCount: 0, readyAt: 0, leaseLost: false, journalRef: null, enqueuedAt: first.clock.now() };
    second.broker.restoreMessage('q', { ...base, id: a, seq: 1 });
    second.broker.restoreMessage('q', { ...base, id: b, seq: 7 }); // not the seq its id names
    const got = second.consume('q').sink.got;
    expect(got.map((g) => g.id)).toEqual([a, b]);
    for (const g of got) second.broker.ack('q', g.id, g.receipt);
    expect(second.broker.queue('q').depth).toBe(0);
    expect(second.broker.queue('other').message(taken)?.state).toBe('ready');
  });
});
