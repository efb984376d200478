/**
 * The hand-written batch encoders write exactly the generated encoders' bytes, for any
 * request (negative priorities and delays, non-ASCII strings and attributes, entries naming
 * their own queue).
 */
import fc from 'fast-check';
import { AckStreamRequest, EnqueueStreamRequest } from '../../generated/coramq/v1/queue';
import { ackEntry, enqueueEntry, text } from '../../test/support/arbitraries';
import { encodeAckBatch, encodeEnqueueBatch } from '../src/batch-encoders';

test('an enqueue batch: the generated encoder\'s bytes for any request', () => {
  fc.assert(
    fc.property(text, fc.array(enqueueEntry, { maxLength: 6 }), (queue, messages) => {
      const expected = Buffer.from(EnqueueStreamRequest.encode({ queue, messages }).finish());
      expect(encodeEnqueueBatch({ queue, messages }).equals(expected)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test('an ack batch: the generated encoder\'s bytes for any request', () => {
  fc.assert(
    fc.property(text, fc.array(ackEntry, { maxLength: 8 }), (queue, entries) => {
      const expected = Buffer.from(AckStreamRequest.encode({ queue, entries }).finish());
      expect(encodeAckBatch({ queue, entries }).equals(expected)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test('a large payload gets a multi-byte length and reads back', () => {
  const messages = [{ id: '', payload: Buffer.alloc(20_000, 7), priority: 3, delay: undefined, attributes: {}, queue: '' }];
  const bytes = encodeEnqueueBatch({ queue: 'q', messages });
  expect(EnqueueStreamRequest.decode(bytes)).toEqual({ queue: 'q', messages });
});
