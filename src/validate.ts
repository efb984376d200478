/**
 * Validation of what callers send, shared by the gRPC and HTTP layers: names, ids,
 * payloads, attributes and durations against the configured limits. Each check throws a
 * CoraError whose message says what is wrong and what is allowed.
 */
import { MAX_VISIBILITY_TIMEOUT_MS, type Limits } from './config';
import { CoraError, errors } from './errors';
import { NO_ATTRIBUTES, type Attributes } from './engine/message';

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MESSAGE_ID = /^[\x21-\x7e]{1,128}$/;
const ATTRIBUTE_KEY = /^[A-Za-z0-9_.-]{1,128}$/;
export const RESERVED_ATTRIBUTE_PREFIX = 'coramq.';

export function queueName(name: string, field = 'queue name'): string {
  if (!QUEUE_NAME.test(name)) {
    const shown = name === '' ? 'is empty' : `'${name.length > 100 ? name.slice(0, 100) + '…' : name}' is invalid`;
    throw new CoraError('INVALID_QUEUE_NAME', `${field} ${shown}: use 1-80 characters of A-Z, a-z, 0-9, '_' and '-'`);
  }
  return name;
}

/** '' means "let the server make one" (null). */
export function messageId(id: string): string | null {
  if (id === '') return null;
  if (!MESSAGE_ID.test(id)) {
    throw errors.invalid(`message id '${id.slice(0, 140)}' is invalid: use 1-128 printable ASCII characters without spaces`);
  }
  return id;
}

/** For acks and nacks, where an id is required. */
export function requiredMessageId(id: string): string {
  const checked = messageId(id);
  if (checked === null) throw errors.invalid('message id is empty');
  return checked;
}

export function receipt(value: string): string {
  if (value === '') throw errors.invalid('receipt is empty: pass the receipt of the delivery');
  return value;
}

export function payload(bytes: Buffer, limits: Limits): Buffer {
  if (bytes.length > limits.maxPayloadBytes) {
    throw new CoraError(
      'PAYLOAD_TOO_LARGE',
      `payload is ${bytes.length} bytes; the limit is ${limits.maxPayloadBytes} bytes (--max-payload-bytes)`,
    );
  }
  return bytes;
}

export function attributes(attrs: Record<string, string>, limits: Limits): Attributes {
  const keys = Object.keys(attrs);
  if (keys.length === 0) return NO_ATTRIBUTES;
  if (keys.length > limits.maxAttributes) {
    throw errors.invalid(`${keys.length} attributes; the limit is ${limits.maxAttributes} (--max-attributes)`);
  }
  for (const key of keys) {
    if (!ATTRIBUTE_KEY.test(key)) {
      throw errors.invalid(`attribute key '${key.slice(0, 140)}' is invalid: use 1-128 characters of A-Z, a-z, 0-9, '_', '.' and '-'`);
    }
    if (key.startsWith(RESERVED_ATTRIBUTE_PREFIX)) {
      throw errors.invalid(`attribute key '${key}' is reserved: keys starting with '${RESERVED_ATTRIBUTE_PREFIX}' are set by the server`);
    }
    const size = Buffer.byteLength(attrs[key]);
    if (size > limits.maxAttributeValueBytes) {
      throw errors.invalid(
        `attribute '${key}' is ${size} bytes; the limit is ${limits.maxAttributeValueBytes} (--max-attribute-value-bytes)`,
      );
    }
  }
  return attrs;
}

/**
 * The queue of a batch's entries that name none (EnqueueBatch, AckBatch and their streams):
 * the request's `queue`, checked as a name. An empty one is allowed only when every entry
 * names its own queue; then '' is returned (no entry will fall back to it).
 */
export function batchQueue(queue: string, entries: readonly { queue?: string }[], what: string): string {
  if (queue !== '') return queueName(queue);
  for (let i = 0; i < entries.length; i++) {
    const own = entries[i].queue;
    if (own === undefined || own === '') {
      throw new CoraError('INVALID_QUEUE_NAME', `queue name is empty and ${what}[${i}] names no queue: name the queue on the request, or on every entry`);
    }
  }
  return '';
}

/** The queue of entry `index` of a batch: its own, checked as a name, or else `fallback` (batchQueue's). */
export function entryQueue(own: string | undefined, fallback: string, what: string, index: number): string {
  if (own === undefined || own === '') return fallback;
  return QUEUE_NAME.test(own) ? own : queueName(own, `${what}[${index}].queue`);
}

export function batchSize(count: number, what: string, limits: Limits): void {
  if (count === 0) throw errors.invalid(`${what} has no entries`);
  if (count > limits.maxBatchSize) {
    throw new CoraError('BATCH_TOO_LARGE', `${what} has ${count} entries; the limit is ${limits.maxBatchSize} (--max-batch-size)`);
  }
}

export function delayMs(ms: number, limits: Limits, field = 'delay'): number {
  if (ms > limits.maxDelayMs) throw errors.invalid(`${field} is ${ms} ms; the limit is ${limits.maxDelayMs} ms (--max-delay)`);
  return ms;
}

export function visibilityTimeoutMs(ms: number, field = 'visibility_timeout'): number {
  if (ms < 1 || ms > MAX_VISIBILITY_TIMEOUT_MS) {
    throw errors.invalid(`${field} is ${ms} ms; it must be between 1 ms and 12 h`);
  }
  return ms;
}

export function maxInFlight(n: number, limits: Limits): number {
  if (n === 0) return limits.defaultMaxInFlight;
  if (n > limits.maxInFlight) {
    throw errors.invalid(`max_in_flight is ${n}; the limit is ${limits.maxInFlight} (--max-in-flight)`);
  }
  return n;
}

/** The longest a long-poll may wait (gRPC wait_time, HTTP ?wait=). */
export const MAX_WAIT_MS = 12 * 3600 * 1000;

export function waitMs(ms: number, field = 'wait_time'): number {
  if (ms > MAX_WAIT_MS) throw errors.invalid(`${field} is longer than 12 h`);
  return ms;
}
