/**
 * The hand-written DequeueResponse encoder writes exactly the generated encoder's bytes, for
 * any response (negative priorities and timestamps, non-ASCII strings and attributes included).
 */
import fc from 'fast-check';
import { DequeueResponse, type Message } from '../../generated/coramq/v1/queue';
import { encodeDequeueResponse } from '../../src/server/dequeue-encoder';
import { message } from '../support/arbitraries';

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
