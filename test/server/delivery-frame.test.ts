/**
 * A Dequeue stream's frame, encoded delivery by delivery from the engine's view, is exactly
 * the generated encoder's DequeueResponse of those deliveries' wire form, for any deliveries
 * (negative priorities, non-ASCII queue names and attributes, times of any size), over several
 * frames of one stream, whose scratch space grows and is given up. Ids and receipts are ASCII
 * (the engine admits no other: validate.ts), and a frame refuses any other.
 */
import fc from 'fast-check';
import { DequeueResponse, type Message } from '../../generated/coramq/v1/queue';
import { NO_ATTRIBUTES, type DeliveredMessage } from '../../src/engine/message';
import { toTimestamp } from '../../src/server/convert';
import { DeliveryFrame } from '../../src/server/delivery-frame';
import { attributes, int32, text, uint32 } from '../support/arbitraries';

/** The wire form of a delivery, field by field (the reference the frame is held to). */
const wire = (m: DeliveredMessage): Message => ({
  id: m.id,
  queue: m.queueName,
  payload: Buffer.from(m.payload),
  priority: m.priority,
  attributes: { ...m.attributes },
  enqueuedAt: toTimestamp(m.enqueuedAt),
  deliveryCount: m.deliveryCount,
  visibleAt: toTimestamp(m.visibleAt),
  receipt: m.receipt,
});
const generated = (ms: DeliveredMessage[]): Buffer => Buffer.from(DequeueResponse.encode({ messages: ms.map(wire) }).finish());

const ms = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 999, 1000, 1001, 1_763_900_000_123));
/** Ids and receipts as the engine holds them: printable ASCII (validate.ts's MESSAGE_ID), or none. */
const ascii = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 128 });
const delivery: fc.Arbitrary<DeliveredMessage> = fc.record({
  id: ascii,
  seq: fc.nat(),
  queueName: fc.oneof(fc.constant('q'), text),
  payload: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  priority: int32,
  attributes: fc.oneof(fc.constant(NO_ATTRIBUTES), attributes),
  enqueuedAt: ms,
  deliveryCount: uint32,
  visibleAt: ms,
  receipt: ascii,
});

test("a frame is the generated encoder's bytes of its deliveries, frame after frame", () => {
  fc.assert(
    fc.property(fc.array(fc.array(delivery, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), (frames) => {
      const frame = new DeliveryFrame();
      for (const deliveries of frames) {
        for (const d of deliveries) frame.add(d);
        expect(frame.count).toBe(deliveries.length);
        const expected = generated(deliveries);
        expect(frame.bytes).toBe(expected.length);
        expect(frame.take().equals(expected)).toBe(true);
        expect(frame.count).toBe(0);
      }
    }),
    { numRuns: 500 },
  );
});

const plain = (i: number, payloadBytes: number): DeliveredMessage => ({
  id: `01JD${String(i).padStart(22, '0')}`,
  seq: i,
  queueName: 'jobs',
  payload: Buffer.alloc(payloadBytes, i),
  priority: i % 10,
  attributes: NO_ATTRIBUTES,
  enqueuedAt: 1_763_900_000_000 + i,
  deliveryCount: 1,
  visibleAt: 1_763_900_030_000 + i,
  receipt: `receipt-${i}`,
});

test('frames larger than the scratch space grow it, and each frame stands alone', () => {
  const frame = new DeliveryFrame();
  const big = [plain(1, 20_000), plain(2, 70_000), plain(3, 0)];
  for (const d of big) frame.add(d);
  const first = frame.take();
  expect(first.equals(generated(big))).toBe(true);
  frame.add(plain(4, 10));
  const second = frame.take();
  expect(second.equals(generated([plain(4, 10)]))).toBe(true);
  frame.add(plain(5, 30));
  frame.add(plain(6, 30));
  expect(frame.take().equals(generated([plain(5, 30), plain(6, 30)]))).toBe(true);
  // Each frame is a buffer of its own: later frames did not write over it.
  expect(DequeueResponse.decode(first).messages.map((m) => m.payload.length)).toEqual([20_000, 70_000, 0]);
  expect(second.equals(generated([plain(4, 10)]))).toBe(true);
});

test('a cleared frame sends nothing of what it held; an empty frame is zero bytes', () => {
  const frame = new DeliveryFrame();
  expect(frame.take()).toHaveLength(0);
  frame.add(plain(1, 100));
  frame.clear();
  expect(frame.count).toBe(0);
  expect(frame.bytes).toBe(0);
  frame.add(plain(2, 5));
  expect(frame.take().equals(generated([plain(2, 5)]))).toBe(true);
});

test('an id or receipt that is not ASCII fails the delivery loudly and leaves the frame as it was', () => {
  const frame = new DeliveryFrame();
  frame.add(plain(1, 10));
  expect(() => frame.add({ ...plain(2, 10), id: 'é-not-ascii' })).toThrow(/not ASCII/);
  expect(() => frame.add({ ...plain(3, 10), receipt: 'rëceipt' })).toThrow(/not ASCII/);
  expect(frame.count).toBe(1);
  frame.add(plain(4, 10));
  expect(frame.take().equals(generated([plain(1, 10), plain(4, 10)]))).toBe(true);
});
