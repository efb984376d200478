/**
 * The client's hand-written decoders of batch results against the generated ones: for random
 * responses (errors, duplicates, non-ASCII ids), for any field order, repeats and unknown
 * fields, and for damaged and random bytes (both throw, or neither does and both read the same).
 */
import fc from 'fast-check';
import { AckBatchResponse, AckStreamResponse, EnqueueBatchResponse, EnqueueStreamResponse } from '../../generated/coramq/v1/queue';
import { ackResult, enqueueResult, maybeEntryError } from '../../test/support/arbitraries';
import { decoderParityTests, ENTRY_ERROR, expectSameOutcome, type MessageSchema } from '../../test/support/proto-fuzz';
import { decodeAckBatchResponse, decodeAckStreamResponse, decodeEnqueueBatchResponse, decodeEnqueueStreamResponse } from '../src/batch-decoders';

test('enqueue results, canonically encoded: what the generated decoders read', () => {
  fc.assert(
    fc.property(fc.array(enqueueResult, { maxLength: 8 }), maybeEntryError, (results, error) => {
      const stream = Buffer.from(EnqueueStreamResponse.encode({ results, error }).finish());
      expect(decodeEnqueueStreamResponse(stream)).toStrictEqual(EnqueueStreamResponse.decode(stream));
      expect(decodeEnqueueStreamResponse(stream)).toEqual({ results, error });
      // A Batch response has no `error`: its field 2, if sent, is skipped.
      expect(decodeEnqueueBatchResponse(stream)).toStrictEqual(EnqueueBatchResponse.decode(stream));
    }),
    { numRuns: 300 },
  );
});

test('ack results, canonically encoded: what the generated decoders read', () => {
  fc.assert(
    fc.property(fc.array(ackResult, { maxLength: 8 }), maybeEntryError, (results, error) => {
      const stream = Buffer.from(AckStreamResponse.encode({ results, error }).finish());
      expect(decodeAckStreamResponse(stream)).toStrictEqual(AckStreamResponse.decode(stream));
      expect(decodeAckStreamResponse(stream)).toEqual({ results, error });
      expect(decodeAckBatchResponse(stream)).toStrictEqual(AckBatchResponse.decode(stream));
    }),
    { numRuns: 300 },
  );
});

const ENQUEUE_RESPONSE: MessageSchema = { 1: { 1: 'string', 2: 'bool', 3: ENTRY_ERROR }, 2: ENTRY_ERROR };
const ACK_RESPONSE: MessageSchema = { 1: { 1: 'string', 2: ENTRY_ERROR }, 2: ENTRY_ERROR };
decoderParityTests([
  { name: 'EnqueueStreamResponse', hand: decodeEnqueueStreamResponse, generated: EnqueueStreamResponse.decode, schema: ENQUEUE_RESPONSE },
  { name: 'EnqueueBatchResponse', hand: decodeEnqueueBatchResponse, generated: EnqueueBatchResponse.decode, schema: ENQUEUE_RESPONSE },
  { name: 'AckStreamResponse', hand: decodeAckStreamResponse, generated: AckStreamResponse.decode, schema: ACK_RESPONSE },
  { name: 'AckBatchResponse', hand: decodeAckBatchResponse, generated: AckBatchResponse.decode, schema: ACK_RESPONSE },
]);

test('a duplicate flag written as a long varint reads as the generated decoder reads it', () => {
  // 2^32 (its low 32 bits zero) and 2^63 (ten bytes) are true; a zero padded to two bytes is false.
  for (const flag of [[0x80, 0x80, 0x80, 0x80, 0x10], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x80, 0x00]]) {
    const bytes = Buffer.from([10, 1 + flag.length, 16, ...flag]);
    expectSameOutcome(decodeEnqueueStreamResponse, EnqueueStreamResponse.decode, bytes);
    expect(decodeEnqueueStreamResponse(bytes).results[0].duplicate).toBe(flag.length > 2);
  }
});
