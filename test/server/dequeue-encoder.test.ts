/**
 * The hand-written DequeueResponse encoder writes exactly the generated encoder's bytes, for
 * any response (negative priorities and timestamps, non-ASCII strings and attributes included).
 */
import fc from 'fast-check';
import { DequeueResponse, type Message } from '../../generated/coramq/v1/queue';
import { encodeDequeueResponse } from '../../src/server/dequeue-encoder';

const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const timestamp = fc.option(fc.record({ seconds: int64, nanos: int32 }), { nil: undefined });
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constant(''));
const message: fc.Arbitrary<Message> = fc.record({
  id: text,
  queue: text,
  payload: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  priority: int32,
  attributes: fc.dictionary(text.filter((k) => k !== '__proto__'), text, { maxKeys: 4 }),
  enqueuedAt: timestamp,
  deliveryCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  visibleAt: timestamp,
  receipt: text,
});

test('writes the generated encoder\'s bytes for any response', () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
      const expected = Buffer.from(DequeueResponse.encode({ messages }).finish());
      expect(encodeDequeueResponse({ messages }).equals(expected)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test('an empty response is zero bytes; a large payload gets a multi-byte length', () => {
  expect(encodeDequeueResponse({ messages: [] })).toHaveLength(0);
  const m: Message = { id: 'a', queue: 'q', payload: Buffer.alloc(20_000, 1), priority: 0, attributes: {}, enqueuedAt: undefined, deliveryCount: 1, visibleAt: undefined, receipt: 'r' };
  const bytes = encodeDequeueResponse({ messages: [m] });
  expect(DequeueResponse.decode(bytes).messages[0]).toEqual(m);
});
