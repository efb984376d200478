/**
 * The hand-written batch encoders write exactly the generated encoders' bytes, for any
 * request (negative priorities and delays, non-ASCII strings and attributes, entries naming
 * their own queue).
 */
import fc from 'fast-check';
import { AckStreamRequest, EnqueueStreamRequest, type AckEntry, type EnqueueBatchEntry } from '../../generated/coramq/v1/queue';
import { encodeAckBatch, encodeEnqueueBatch } from '../src/batch-encoders';

const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constant(''));
const entry: fc.Arbitrary<EnqueueBatchEntry> = fc.record({
  id: text,
  payload: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  priority: int32,
  delay: fc.option(fc.record({ seconds: int64, nanos: int32 }), { nil: undefined }),
  attributes: fc.dictionary(text.filter((k) => k !== '__proto__'), text, { maxKeys: 4 }),
  queue: text,
});
const ack: fc.Arbitrary<AckEntry> = fc.record({ id: text, receipt: text, queue: text });

test('an enqueue batch: the generated encoder\'s bytes for any request', () => {
  fc.assert(
    fc.property(text, fc.array(entry, { maxLength: 6 }), (queue, messages) => {
      const expected = Buffer.from(EnqueueStreamRequest.encode({ queue, messages }).finish());
      expect(encodeEnqueueBatch({ queue, messages }).equals(expected)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

test('an ack batch: the generated encoder\'s bytes for any request', () => {
  fc.assert(
    fc.property(text, fc.array(ack, { maxLength: 8 }), (queue, entries) => {
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
