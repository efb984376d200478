/**
 * When a Dequeue stream's frames leave: the deliveries one piece of work makes (here a
 * subscribe that finds messages ready, then an ack batch that frees room) go out as one
 * frame as soon as that work is done, on a microtask, before the event loop turns: so a frame
 * leaves with the replies of the work that made it. The stream's grpc-js call is a recorder
 * here (the timing is what is tested; delivery.test.ts runs the real thing end to end).
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { DequeueResponse } from '../../generated/coramq/v1/queue';
import { DequeueStream, type DequeueCall } from '../../src/server/dequeue-stream';
import { engine } from '../support/engine';

class RecordingCall extends EventEmitter {
  readonly frames: string[][] = [];
  write(frame: Buffer): boolean {
    this.frames.push(DequeueResponse.decode(frame).messages.map((m) => m.id));
    return true;
  }
  end(): void {}
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a piece of work's deliveries leave as one frame before the event loop turns", async () => {
  const { broker, put } = engine();
  broker.createQueue('q');
  for (const id of ['a', 'b', 'c', 'd']) put('q', { id });
  const call = new RecordingCall();
  const stream = new DequeueStream(call as unknown as DequeueCall, broker, pino({ level: 'silent' }), () => {});
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
