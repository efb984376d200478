/**
 * The JSON shapes of the HTTP API: items as the original CoraMQ wrote them, queues with
 * their config and stats, and times as RFC 3339.
 *
 * Invariants: an item's fields come in the original's order (id, payload, priority, then
 * visibilityTimeout on a dequeue), so its replies are reproduced byte for byte; fields the
 * original did not have (payloadEncoding, attributes) are added only when they carry
 * something. Everything is copied out of the engine's view at once (views change later).
 */
import { isUtf8 } from 'node:buffer';
import type { DeliveredMessage, MessageView } from '../engine/message';
import type { Queue } from '../engine/queue';

export interface ItemJson {
  id: string;
  /** The payload's UTF-8 text, or base64 when the bytes are not UTF-8 (payloadEncoding says so). */
  payload: string;
  priority: number;
  /** The end of the lease, on a dequeued item. */
  visibilityTimeout?: string;
  /** Only for a payload that is not UTF-8 text (enqueued as bytes over gRPC). */
  payloadEncoding?: 'base64';
  /** Only when the message has attributes (set over gRPC, or by dead-lettering). */
  attributes?: Record<string, string>;
}

/**
 * A time as RFC 3339 UTC with millisecond precision, the engine's own: never earlier or
 * later than the instant it names. Trailing zeros of the fraction are dropped, as Go's
 * time.RFC3339Nano writes (the original server was Go): `2024-10-07T12:45:00Z`,
 * `2024-10-07T12:45:00.25Z`.
 */
export function rfc3339(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}

/** Seconds as a JSON number (milliseconds kept as a fraction). */
const seconds = (ms: number): number => ms / 1000;

export function itemJson(m: MessageView): ItemJson {
  return finishItem({ id: m.id, payload: '', priority: m.priority }, m);
}

export function dequeuedItemJson(m: DeliveredMessage): ItemJson {
  return finishItem({ id: m.id, payload: '', priority: m.priority, visibilityTimeout: rfc3339(m.visibleAt) }, m);
}

function finishItem(item: ItemJson, m: MessageView): ItemJson {
  const bytes = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  if (isUtf8(bytes)) {
    item.payload = bytes.toString('utf8');
  } else {
    item.payload = bytes.toString('base64');
    item.payloadEncoding = 'base64';
  }
  const keys = Object.keys(m.attributes);
  if (keys.length > 0) item.attributes = { ...m.attributes };
  return item;
}

export function queueStatsJson(q: Queue, now: number) {
  const { oldestReadyAgeMs, ...stats } = q.stats(now);
  return { ...stats, oldestReadyAgeSeconds: seconds(oldestReadyAgeMs) };
}

export function queueJson(q: Queue, now: number) {
  const s = q.settings;
  return {
    queueName: q.name,
    createdAt: rfc3339(q.createdAt),
    config: {
      visibilityTimeoutSeconds: seconds(s.visibilityTimeoutMs),
      maxDeliveries: s.maxDeliveries,
      deadLetterQueue: s.deadLetterQueue,
      maxDepth: s.maxDepth,
    },
    stats: queueStatsJson(q, now),
  };
}
