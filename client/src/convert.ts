/**
 * Between the wire types (generated/) and what the client's users see: milliseconds instead
 * of Duration, Dates instead of Timestamp, plain numbers and objects for queues, and
 * payloads from Buffers, strings or JSON values.
 */
import type { Queue as WireQueue, QueueConfig as WireQueueConfig } from '../../generated/coramq/v1/queue';
import type { Duration } from '../../generated/google/protobuf/duration';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';
import { InvalidArgumentError } from './errors';
import { status } from '@grpc/grpc-js';

/** The attributes of every message that has none: one frozen empty object, shared. */
export const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** A message body: bytes as they are, a string as UTF-8, anything else as JSON. */
export type Payload = Buffer | Uint8Array | string | JsonValue;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue } | { toJSON(): unknown };

/** The payload's bytes, as a Buffer (a view of a Uint8Array's memory, not a copy). */
export function toBytes(payload: Payload | undefined): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  const json = payload === undefined ? undefined : JSON.stringify(payload);
  if (json === undefined) throw new InvalidArgumentError('the payload is not JSON-serialisable (undefined, a function or a symbol)', status.INVALID_ARGUMENT);
  return Buffer.from(json, 'utf8');
}

export function toDuration(ms: number, field: string): Duration {
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`${field} must be a finite number of milliseconds >= 0 (got ${ms})`, status.INVALID_ARGUMENT);
  const whole = Math.ceil(ms);
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1e6 };
}

/** An optional duration: undefined stays unset. */
export const optionalDuration = (ms: number | undefined, field: string): Duration | undefined =>
  ms === undefined ? undefined : toDuration(ms, field);

export const durationMs = (d: Duration | undefined): number => (d === undefined ? 0 : d.seconds * 1000 + Math.round(d.nanos / 1e6));

/** A Timestamp's seconds and nanos as ms since the epoch (nanos below a ms dropped). */
export const secondsNanosMs = (seconds: number, nanos: number): number => seconds * 1000 + Math.floor(nanos / 1e6);

export const timestampMs = (t: Timestamp | undefined): number => (t === undefined ? 0 : secondsNanosMs(t.seconds, t.nanos));

/** A queue's configuration. Durations in milliseconds. */
export interface QueueConfig {
  /** How long a delivery stays leased before the message is delivered again. Default on the server: 10 s. */
  visibilityTimeout: number;
  /** Deliveries before the message goes to the dead-letter queue; 0 = unlimited. */
  maxDeliveries: number;
  /** Where messages that ran out of deliveries go; '' = none (they are dropped and counted). */
  deadLetterQueue: string;
  /** The most messages the queue holds (ready, delayed and in flight). */
  maxDepth: number;
}

export interface QueueStats {
  ready: number;
  delayed: number;
  inFlight: number;
  /** How long the oldest ready message has waited, in ms (0 when none is ready). */
  oldestReadyAge: number;
  enqueuedTotal: number;
  deliveredTotal: number;
  ackedTotal: number;
  nackedTotal: number;
  expiredTotal: number;
  deadLetteredTotal: number;
  /** Open Dequeue streams (subscriptions and workers). */
  consumers: number;
}

export interface QueueInfo {
  name: string;
  config: QueueConfig;
  stats: QueueStats;
  createdAt: Date;
}

export function toWireConfig(config: Partial<QueueConfig> | undefined): WireQueueConfig | undefined {
  if (config === undefined) return undefined;
  return {
    visibilityTimeout: optionalDuration(config.visibilityTimeout, 'visibilityTimeout'),
    maxDeliveries: config.maxDeliveries ?? 0,
    deadLetterQueue: config.deadLetterQueue ?? '',
    maxDepth: config.maxDepth ?? 0,
  };
}

export function fromWireQueue(q: WireQueue | undefined): QueueInfo {
  if (q === undefined) throw new Error('the server answered without a queue');
  const c = q.config;
  const s = q.stats;
  return {
    name: q.name,
    config: {
      visibilityTimeout: durationMs(c?.visibilityTimeout),
      maxDeliveries: c?.maxDeliveries ?? 0,
      deadLetterQueue: c?.deadLetterQueue ?? '',
      maxDepth: c?.maxDepth ?? 0,
    },
    stats: {
      ready: s?.ready ?? 0,
      delayed: s?.delayed ?? 0,
      inFlight: s?.inFlight ?? 0,
      oldestReadyAge: durationMs(s?.oldestReadyAge),
      enqueuedTotal: s?.enqueuedTotal ?? 0,
      deliveredTotal: s?.deliveredTotal ?? 0,
      ackedTotal: s?.ackedTotal ?? 0,
      nackedTotal: s?.nackedTotal ?? 0,
      expiredTotal: s?.expiredTotal ?? 0,
      deadLetteredTotal: s?.deadLetteredTotal ?? 0,
      consumers: s?.consumers ?? 0,
    },
    createdAt: new Date(timestampMs(q.createdAt)),
  };
}
