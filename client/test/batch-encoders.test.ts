/**
 * The hand-written batch encoders write exactly the generated encoders' bytes, for any
 * request (negative priorities and delays, non-ASCII strings and attributes, entries naming
 * their own queue), and ack entries whose id and receipt are still the bytes they came in.
 */
import fc from 'fast-check';
import { AckStreamRequest, EnqueueStreamRequest } from '../../generated/coramq/v1/queue';
import { ackEntry, enqueueEntry, text } from '../../test/support/arbitraries';
import { encodeAckBatch, encodeEnqueueBatch, type RawAckEntry } from '../src/batch-encoders';

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

/** `e` as the client's AckItem holds it: id and receipt as bytes of a larger buffer, with junk around them. */
const rawEntry = fc
  .tuple(fc.record({ id: fc.oneof(text, fc.string({ minLength: 65, maxLength: 200 })), receipt: text, queue: text }), fc.uint8Array({ maxLength: 5 }), fc.uint8Array({ maxLength: 5 }), fc.boolean())
  .map(([e, before, between, receiptFirst]): RawAckEntry => {
    const id = Buffer.from(e.id);
    const receipt = Buffer.from(e.receipt);
    const [first, second] = receiptFirst ? [receipt, id] : [id, receipt];
    const keyBytes = Buffer.concat([before, first, between, second, before]);
    const firstAt = before.length;
    const secondAt = firstAt + first.length + between.length;
    const [idAt, receiptAt] = receiptFirst ? [secondAt, firstAt] : [firstAt, secondAt];
    return { ...e, keyBytes, idAt, idEnd: idAt + id.length, receiptAt, receiptEnd: receiptAt + receipt.length };
  });

test('an ack batch of entries whose id and receipt are bytes (and of both kinds): the same bytes', () => {
  fc.assert(
    fc.property(text, fc.array(fc.oneof(rawEntry, ackEntry), { maxLength: 8 }), (queue, entries) => {
      const plain = entries.map(({ id, receipt, queue }) => ({ id, receipt, queue }));
      const expected = Buffer.from(AckStreamRequest.encode({ queue, entries: plain }).finish());
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
