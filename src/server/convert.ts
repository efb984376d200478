/**
 * Conversions between the wire types (generated/) and the engine's: durations and
 * timestamps to and from integer milliseconds, engine queues to their protobuf shape
 * (deliveries are encoded straight from the engine's view: delivery-frame.ts).
 */
import type { Duration } from '../../generated/google/protobuf/duration';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';
import type { Queue as WireQueue } from '../../generated/coramq/v1/queue';
import type { Queue } from '../engine/queue';
import { errors } from '../errors';

/**
 * A Duration as whole milliseconds (nanoseconds round up, so 1 ns is 1 ms, never 0).
 * Unset gives null. Negative or malformed durations are INVALID_ARGUMENT.
 */
export function durationMs(d: Duration | undefined, field: string): number | null {
  if (d === undefined) return null;
  const { seconds, nanos } = d;
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || Math.abs(nanos) >= 1e9 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    throw errors.invalid(`${field} is not a valid duration`);
  }
  if (seconds < 0 || nanos < 0) throw errors.invalid(`${field} is negative`);
  if (seconds > 1e12) throw errors.invalid(`${field} is too long`);
  return seconds * 1000 + Math.ceil(nanos / 1e6);
}

export function toDuration(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function toTimestamp(ms: number): Timestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function toWireQueue(q: Queue, now: number): WireQueue {
  const s = q.settings;
  const { oldestReadyAgeMs, ...stats } = q.stats(now);
  return {
    name: q.name,
    config: {
      visibilityTimeout: toDuration(s.visibilityTimeoutMs),
      maxDeliveries: s.maxDeliveries,
      deadLetterQueue: s.deadLetterQueue,
      maxDepth: s.maxDepth,
    },
    stats: { ...stats, oldestReadyAge: toDuration(oldestReadyAgeMs) },
    createdAt: toTimestamp(q.createdAt),
  };
}
