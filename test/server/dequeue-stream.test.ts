/**
 * When a Dequeue stream's frames leave: the deliveries one piece of work makes (here a
 * subscribe that finds messages ready, then an ack batch that frees room) go out as one
 * frame as soon as that work is done, on a microtask, before the event loop turns: so a frame
 * leaves with the replies of the work that made it. A stream whose turn's deliveries are
 * spent (delivery-pacer.ts) or whose call is full waits for both to lift. The stream's grpc-js call is a recorder
 * here (the timing is what is tested; delivery.test.ts runs the real thing end to end).
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { DequeueResponse } from '../../generated/coramq/v1/queue';
import { DeliveryPacer } from '../../src/server/delivery-pacer';
import { DequeueStream, type DequeueCall } from '../../src/server/dequeue-stream';
import { engine } from '../support/engine';

class RecordingCall extends EventEmitter {
  readonly frames: string[][] = [];
  /** What write() answers: false is grpc-js's "buffer full, wait for 'drain'". */
  accepting = true;
  write(frame: Buffer): boolean {
    this.frames.push(DequeueResponse.decode(frame).messages.map((m) => m.id));
    return this.accepting;
  }
  end(): void {}
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a piece of work's deliveries leave as one frame before the event loop turns", async () => {
  const { broker, put } = engine();
  broker.createQueue('q');
  for (const id of ['a', 'b', 'c', 'd']) put('q', { id });
  const call = new RecordingCall();
  const stream = new DequeueStream(call as unknown as DequeueCall, broker, new DeliveryPacer(1000), pino({ level: 'silent' }), () => {});
  stream.start('q', { maxInFlight: 2, visibilityTimeoutMs: 30_000, maxMessages: Infinity, idleMs: null, deadlineAt: null });
  expect(call.frames).toEqual([]); // nothing while the work goes on
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b']]); // a microtask later, before any turn of the loop

  const receipts = new Map(broker.queue('q').messages().filter((m) => m.state === 'in-flight').map((m) => [m.id, m.receipt as string]));
  // One ack batch: two acks, two deliveries into the room they free, one frame.
  broker.ack('q', 'a', receipts.get('a') as string);
  broker.ack('q', 'b', receipts.get('b') as string);
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b'], ['c', 'd']]);
  await nextTurn();
  expect(call.frames).toHaveLength(2);
});

const options = { maxInFlight: 10, visibilityTimeoutMs: 30_000, maxMessages: Infinity, idleMs: null, deadlineAt: null };

test('a stream paced for the turn and blocked by a full call takes more only once both have lifted', async () => {
  const { broker, put } = engine();
  broker.createQueue('q');
  for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) put('q', { id });
  const call = new RecordingCall();
  call.accepting = false;
  const stream = new DequeueStream(call as unknown as DequeueCall, broker, new DeliveryPacer(2), pino({ level: 'silent' }), () => {});
  stream.start('q', options);
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b']]); // the turn's two deliveries; the call is now full too
  await nextTurn();
  expect(call.frames).toEqual([['a', 'b']]); // a new turn, but the call is still full
  call.accepting = true;
  call.emit('drain');
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b'], ['c', 'd']]);

  // The other way round: the call drains while the turn's budget is spent.
  call.accepting = false;
  await nextTurn();
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f']]);
  call.accepting = true;
  call.emit('drain'); // still within the turn that spent its budget on e and f
  await Promise.resolve();
  expect(call.frames).toHaveLength(3);
  await nextTurn();
  await Promise.resolve();
  expect(call.frames).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f'], ['g', 'h']]);
});

test('streams subscribing in one turn share its budget; the others start in the next turns, in order', async () => {
  const { broker, put } = engine();
  broker.createQueue('q');
  for (let i = 0; i < 12; i++) put('q', { id: `m${i}` });
  const pacer = new DeliveryPacer(4);
  const calls = [0, 1, 2].map(() => new RecordingCall());
  for (const call of calls) new DequeueStream(call as unknown as DequeueCall, broker, pacer, pino({ level: 'silent' }), () => {}).start('q', { ...options, maxInFlight: 4 });
  await Promise.resolve();
  expect(calls.map((c) => c.frames)).toEqual([[['m0', 'm1', 'm2', 'm3']], [], []]);
  await nextTurn();
  await Promise.resolve();
  expect(calls.map((c) => c.frames)).toEqual([[['m0', 'm1', 'm2', 'm3']], [['m4', 'm5', 'm6', 'm7']], []]);
  await nextTurn();
  await Promise.resolve();
  expect(calls.map((c) => c.frames.flat())).toEqual([['m0', 'm1', 'm2', 'm3'], ['m4', 'm5', 'm6', 'm7'], ['m8', 'm9', 'm10', 'm11']]);
});
