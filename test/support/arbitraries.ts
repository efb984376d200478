/**
 * fast-check arbitraries of the contract's messages, for the property tests that hold the
 * hand-written codecs to the generated ones: every field over its whole range (negative
 * priorities, delays and timestamps; empty, ASCII and any-Unicode strings; errors set or
 * not), attributes whose keys are never `__proto__` (the hand decoders keep such a key, the
 * generated ones drop it: tested on its own).
 */
import fc from 'fast-check';
import type { AckEntry, AckResult, EnqueueBatchEntry, EnqueueResult, EntryError, Message } from '../../generated/coramq/v1/queue';

export const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
/** An int64 as the generated code carries it (forceLong=number): Number's safe range. */
export const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
export const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constant(''));
export const secondsNanos = fc.record({ seconds: int64, nanos: int32 });
export const attributes = fc.dictionary(
  text.filter((k) => k !== '__proto__'),
  text,
  { maxKeys: 4 },
);
const payload = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));

export const enqueueEntry: fc.Arbitrary<EnqueueBatchEntry> = fc.record({
  id: text,
  payload,
  priority: int32,
  delay: fc.option(secondsNanos, { nil: undefined }),
  attributes,
  queue: text,
});
export const ackEntry: fc.Arbitrary<AckEntry> = fc.record({ id: text, receipt: text, queue: text });

export const entryError: fc.Arbitrary<EntryError> = fc.record({ code: int32, reason: text, message: text });
export const maybeEntryError = fc.option(entryError, { nil: undefined });
export const enqueueResult: fc.Arbitrary<EnqueueResult> = fc.record({ id: text, duplicate: fc.boolean(), error: maybeEntryError });
export const ackResult: fc.Arbitrary<AckResult> = fc.record({ id: text, error: maybeEntryError });

/** One delivery of DequeueResponse. */
export const message: fc.Arbitrary<Message> = fc.record({
  id: text,
  queue: text,
  payload,
  priority: int32,
  attributes,
  enqueuedAt: fc.option(secondsNanos, { nil: undefined }),
  deliveryCount: uint32,
  visibleAt: fc.option(secondsNanos, { nil: undefined }),
  receipt: text,
});
