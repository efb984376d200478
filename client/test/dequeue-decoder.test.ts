/**
 * The hand-written DequeueResponse decoder against the generated one: for random responses
 * (and the same bytes with unknown fields mixed in, as a newer server may send), it reads what
 * the generated decoder reads, mapped to a Delivery (Timestamps to ms); malformed bytes throw
 * instead of reading garbage, exactly where the generated decoder throws. One decoder reads
 * every input of a test, as one decoder reads every frame of a stream, so what it carries from
 * frame to frame (the last queue name) is checked too.
 */
import fc from 'fast-check';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { DequeueResponse, type Message } from '../../generated/coramq/v1/queue';
import { message } from '../../test/support/arbitraries';
import { decoderParityTests, SECONDS_NANOS, STRING_MAP_ENTRY, type MessageSchema } from '../../test/support/proto-fuzz';
import { timestampMs } from '../src/convert';
import { DequeueDecoder, KEEP_FRAME_BYTES, toDelivery, type Delivery } from '../src/dequeue-decoder';

const encode = (r: DequeueResponse): Buffer => Buffer.from(DequeueResponse.encode(r).finish());

/** A generated Message as the hand decoder reads it. */
const fromWire = (m: Message): Delivery => ({
  id: m.id,
  queue: m.queue,
  payload: m.payload,
  priority: m.priority,
  attributes: m.attributes,
  enqueuedAt: timestampMs(m.enqueuedAt),
  deliveryCount: m.deliveryCount,
  visibleAt: timestampMs(m.visibleAt),
  receipt: m.receipt,
});
const generated = (b: Uint8Array): Delivery[] => DequeueResponse.decode(b).messages.map(fromWire);
const decoder = new DequeueDecoder(toDelivery);
const hand = decoder.decode;

test('reads what the generated decoder reads, for any response', () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
      const bytes = encode({ messages });
      expect(hand(bytes)).toStrictEqual(generated(bytes));
    }),
    { numRuns: 300 },
  );
});

test('deliveries of the same queues, within a frame and from frame to frame, read the same names', () => {
  const queue = fc.constantFrom('', 'a', 'b', 'ab', 'é', 'queue-1', 'queue-2');
  fc.assert(
    fc.property(fc.array(fc.array(fc.tuple(message, queue), { maxLength: 5 }), { maxLength: 4 }), (frames) => {
      for (const frame of frames) {
        const bytes = encode({ messages: frame.map(([m, q]) => ({ ...m, queue: q })) });
        expect(hand(bytes)).toStrictEqual(generated(bytes));
      }
    }),
    { numRuns: 200 },
  );
});

test('skips fields it does not know, at the top and inside each message (a newer server)', () => {
  fc.assert(
    fc.property(message, fc.integer({ min: 20, max: 500 }), fc.uint8Array({ maxLength: 20 }), fc.nat(), (m, field, blob, n) => {
      const inner = DequeueResponse.encode({ messages: [m] }).finish().subarray(0); // tag 10, length, message
      const w = new BinaryWriter();
      w.uint32((field << 3) | 0).uint64(n); // unknown varint at the top
      const body = new BinaryWriter();
      body.uint32((field << 3) | 2).bytes(blob); // unknown bytes inside the message
      body.uint32((field << 3) | 5).fixed32(n); // unknown fixed32
      body.uint32((field << 3) | 1).fixed64(n); // unknown fixed64
      const messageBytes = Buffer.concat([Buffer.from(body.finish()), Buffer.from(decodeFirst(inner))]);
      w.uint32(10).bytes(messageBytes);
      const bytes = Buffer.from(w.finish());
      expect(hand(bytes)).toStrictEqual(generated(bytes));
      expect(hand(bytes)[0]).toEqual(fromWire(m.payload.length === 0 ? { ...m, payload: Buffer.alloc(0) } : m));
    }),
    { numRuns: 200 },
  );
});

/** The body of the first field-1 entry of an encoded DequeueResponse. */
function decodeFirst(encoded: Uint8Array): Uint8Array {
  let pos = 1;
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    const b = encoded[pos++];
    len |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  return encoded.subarray(pos, pos + len);
}

test('an attribute named __proto__ is kept as data', () => {
  const w = new BinaryWriter();
  const entry = new BinaryWriter().uint32(10).string('__proto__').uint32(18).string('x').finish();
  const msg = new BinaryWriter().uint32(10).string('id-1').uint32(42).bytes(entry).finish();
  w.uint32(10).bytes(msg);
  const [m] = hand(Buffer.from(w.finish()));
  expect(Object.getPrototypeOf(m.attributes)).toBe(Object.prototype);
  expect(Object.entries(m.attributes)).toEqual([['__proto__', 'x']]);
});

test('messages without attributes share one frozen empty object', () => {
  const bytes = encode({ messages: [{ ...toWire('m1'), attributes: {} }, { ...toWire('m2'), attributes: {} }, { ...toWire('m3'), attributes: { k: 'v' } }] });
  const [a, b, c] = hand(bytes);
  expect(a.attributes).toBe(b.attributes);
  expect(Object.isFrozen(a.attributes)).toBe(true);
  expect(c.attributes).toEqual({ k: 'v' });
  expect(Object.isFrozen(c.attributes)).toBe(false);
});

test(`a frame of at most ${KEEP_FRAME_BYTES} bytes is kept by its deliveries: payloads are views of it`, () => {
  const bytes = encode({ messages: [toWire('m1'), toWire('m2')] });
  const views = new DequeueDecoder((v) => v).decode(bytes);
  expect(views.map((v) => v.bytes)).toEqual([bytes, bytes]);
  expect(views[0].bytes).toBe(bytes);
  const [a] = hand(bytes);
  bytes.fill(0x41);
  expect(a.payload.toString()).toBe('A'.repeat('body of m1'.length));
});

test(`each delivery of a larger frame keeps a copy of its own bytes, and reads as the generated decoder reads`, () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (messages, big) => {
      const padded = messages.map((m, i) => (i === big % messages.length ? { ...m, payload: Buffer.alloc(KEEP_FRAME_BYTES, 7) } : m));
      const bytes = encode({ messages: padded });
      expect(bytes.length).toBeGreaterThan(KEEP_FRAME_BYTES);
      // Payloads as base64: jest compares large Buffers byte by byte, slowly.
      const read = (ds: Delivery[]) => ds.map((d) => ({ ...d, payload: d.payload.toString('base64') }));
      const expected = read(generated(bytes));
      const views = new DequeueDecoder((v) => v).decode(bytes);
      for (const v of views) {
        expect(v.bytes.buffer).not.toBe(bytes.buffer);
        expect(v.bytes.length).toBeLessThan(bytes.length);
      }
      expect(read(views.map(toDelivery))).toStrictEqual(expected);
      bytes.fill(0); // the copies do not change with the frame
      expect(read(views.map(toDelivery))).toStrictEqual(expected);
    }),
    { numRuns: 25 },
  );
});

function toWire(id: string): Message {
  return { id, queue: 'q', payload: Buffer.from(`body of ${id}`), priority: 0, attributes: {}, enqueuedAt: undefined, deliveryCount: 1, visibleAt: undefined, receipt: 'r' };
}

test.each([
  ['a length past the end', Buffer.from([10, 5, 1, 2])],
  ['a truncated varint', Buffer.from([10, 2, 32, 0x80])],
  ['a group wire type', Buffer.from([10, 1, 0x0b])],
  ['a queue name past the end', Buffer.from([10, 4, 18, 9, 65, 66])],
])('%s throws', (_, bytes) => {
  expect(() => hand(bytes)).toThrow(/DequeueResponse/);
});

const DEQUEUE_RESPONSE: MessageSchema = {
  1: { 1: 'string', 2: 'string', 3: 'bytes', 4: 'int32', 5: STRING_MAP_ENTRY, 6: SECONDS_NANOS, 7: 'uint32', 8: SECONDS_NANOS, 9: 'string' },
};

decoderParityTests([{ name: 'DequeueResponse', hand, generated, schema: DEQUEUE_RESPONSE }]);
