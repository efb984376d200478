/**
 * The JSON schema of every HTTP reply, per route and status (fastify `schema.response`):
 * the documented contract of the API, and what fastify serializes replies with
 * (fast-json-stringify) instead of JSON.stringify.
 *
 * Invariants:
 * - A schema lists its fields in the order the handler builds them (shapes.ts, routes.ts,
 *   error-replies.ts), required ones first (fast-json-stringify writes the required fields,
 *   then the others, each in schema order; every shape here has its optional fields last), so
 *   every reply is byte for byte what JSON.stringify of the handler's object writes (the
 *   original CoraMQ's bodies).
 * - An optional field the handler leaves undefined is absent, never null; a required one
 *   missing is a bug (500, logged). A field no schema lists is not sent: nothing leaks, but a
 *   field forgotten here would vanish silently, so the HTTP tests compare every reply they
 *   make with JSON.stringify of the handler's object (test/support/reply-check.ts). The
 *   property maps are typed by the reply types below: a field missing from a schema, or one
 *   too many, does not compile.
 * - Counts are `integer` (whole numbers; a fraction would be truncated), durations in seconds
 *   `number` (fractions kept): both written as JSON.stringify writes them. Every route
 *   answers its errors (4xx, 5xx) in the one error shape.
 */
import type { ErrorReply } from './error-replies';
import type { ItemJson, queueJson, queueStatsJson } from './shapes';

export type ErrorBody = ErrorReply['body'];
export type QueueStatsJson = ReturnType<typeof queueStatsJson>;
export type QueueJson = ReturnType<typeof queueJson>;

export interface HealthReply {
  status: 'success';
  message: string;
  storage: string;
  storageState: 'ok' | 'disk-full';
}
export interface QueueListReply {
  status: 'success';
  queues: { queueName: string; stats: QueueStatsJson }[];
  next: string | null;
}
export interface QueueCreatedReply {
  status: 'success';
  message: string;
  queueName: string;
}
export type QueueReply = { status: 'success' } & QueueJson;
/** An enqueued item as the request gave it (the id made by the server when it gave none). */
export type EnqueuedItem = Pick<ItemJson, 'id' | 'payload' | 'priority'>;
export interface EnqueuedReply {
  status: 'success';
  message: string;
  item: EnqueuedItem;
}
export interface DuplicateReply extends EnqueuedReply {
  duplicate: true;
}
export interface DequeuedReply {
  status: 'success';
  message: string;
  item: ItemJson;
}
export interface AckedReply {
  status: 'success';
  message: string;
  itemId: string;
}
export interface ScanReply {
  status: 'success';
  queueName: string;
  items: ItemJson[];
}

type Schema = Readonly<Record<string, unknown>>;

/** An object schema with exactly T's fields, in the order given; `required` lists the fields always there (default: all). */
function object<T extends object>(
  description: string,
  properties: { readonly [K in keyof Required<T>]: Schema },
  required: readonly (keyof T & string)[] = Object.keys(properties) as (keyof T & string)[],
): Schema {
  return { type: 'object', description, properties, required };
}

const string = (description?: string): Schema => (description === undefined ? { type: 'string' } : { type: 'string', description });
const integer = (description?: string): Schema => (description === undefined ? { type: 'integer' } : { type: 'integer', description });
const seconds = (description: string): Schema => ({ type: 'number', description });
const SUCCESS: Schema = { type: 'string', enum: ['success'] };

/** `{"status":"error","message":...}`; three errors name the queue or the item as the original did. */
export const errorReply = object<ErrorBody>(
  'An error: the catalogue code is in the coramq-error-code header (none for errors of HTTP itself)',
  {
    status: { type: 'string', enum: ['error'] },
    message: string('what went wrong, for a person'),
    queueName: string('the queue, when it does not exist or already exists'),
    itemId: string('the item, when it is not in flight'),
  },
  ['status', 'message'],
);

const stats = object<QueueStatsJson>("A live snapshot of the queue (QueueStats in the gRPC contract, the oldest ready item's age in seconds)", {
  ready: integer('items waiting to be delivered now'),
  delayed: integer('items waiting for their delay to pass'),
  inFlight: integer('items delivered and leased, not yet acked, nacked or expired'),
  consumers: integer('open consumers: gRPC Dequeue streams and waiting HTTP dequeues'),
  enqueuedTotal: integer('items enqueued since the queue was created (duplicates not counted)'),
  deliveredTotal: integer('deliveries made (an item delivered twice counts twice)'),
  ackedTotal: integer('items acked'),
  nackedTotal: integer('deliveries given back by a nack'),
  expiredTotal: integer('leases that expired without an ack'),
  deadLetteredTotal: integer('items that ran out of deliveries'),
  oldestReadyAgeSeconds: seconds('how long the oldest ready item has been in the queue; 0 when none is ready'),
});

const config = object<QueueJson['config']>("A queue's settings", {
  visibilityTimeoutSeconds: seconds('how long a dequeued item stays leased'),
  maxDeliveries: integer('deliveries before an item is dead-lettered; 0 = unlimited'),
  deadLetterQueue: string("where dead-lettered items go; '' = none"),
  maxDepth: integer('most items the queue holds'),
});

const ITEM_ID = string('the item id: given on enqueue, or a ULID the server made');
const PAYLOAD = string('UTF-8 text, or base64 when payloadEncoding says so');
const PRIORITY = integer('higher first (int32)');
const ITEM_EXTRAS = {
  payloadEncoding: { type: 'string', enum: ['base64'], description: 'only for a payload that is not UTF-8 text' },
  attributes: { type: 'object', additionalProperties: { type: 'string' }, description: 'only when the item has attributes' },
} as const;

/** An item as scan lists it (the original's order: id, payload, priority). */
const item = object<Omit<ItemJson, 'visibilityTimeout'>>('An item', { id: ITEM_ID, payload: PAYLOAD, priority: PRIORITY, ...ITEM_EXTRAS }, [
  'id',
  'payload',
  'priority',
]);

/** An item as a dequeue leases it: visibilityTimeout after priority, as the original wrote it. */
const dequeuedItem = object<ItemJson>(
  'A dequeued item',
  {
    id: ITEM_ID,
    payload: PAYLOAD,
    priority: PRIORITY,
    visibilityTimeout: string('RFC 3339 UTC time the lease ends, to the millisecond'),
    ...ITEM_EXTRAS,
  },
  ['id', 'payload', 'priority', 'visibilityTimeout'],
);

const enqueuedItem = object<EnqueuedItem>('An enqueued item', { id: ITEM_ID, payload: PAYLOAD, priority: PRIORITY });

const health = object<HealthReply>('The server is serving', {
  status: SUCCESS,
  message: string(),
  storage: string("'memory' or 'wal'"),
  storageState: { type: 'string', enum: ['ok', 'disk-full'], description: 'disk-full: new items are refused, the rest works' },
});

const queueList = object<QueueListReply>('A page of queues, by name', {
  status: SUCCESS,
  queues: { type: 'array', items: object<QueueListReply['queues'][number]>('A queue', { queueName: string(), stats }) },
  next: { type: ['string', 'null'], description: 'the ?after= of the next page; null on the last page' },
});

const queueCreated = object<QueueCreatedReply>('The queue was created', { status: SUCCESS, message: string(), queueName: string() });

const queue = object<QueueReply>("A queue's config and stats", { status: SUCCESS, queueName: string(), createdAt: string('RFC 3339 UTC'), config, stats });

const enqueued = object<EnqueuedReply>('The item was enqueued', { status: SUCCESS, message: string(), item: enqueuedItem });

const duplicate = object<DuplicateReply>('An item with this id is still in the queue: nothing was added', {
  status: SUCCESS,
  message: string(),
  item: enqueuedItem,
  duplicate: { type: 'boolean', enum: [true] },
});

const dequeued = object<DequeuedReply>('The item is leased to the caller', { status: SUCCESS, message: string(), item: dequeuedItem });

const acked = object<AckedReply>('The item is acknowledged (gone)', { status: SUCCESS, message: string(), itemId: string() });

const scan = object<ScanReply>('Up to 100 ready items in delivery order, unchanged', {
  status: SUCCESS,
  queueName: string(),
  items: { type: 'array', items: item },
});

/** A route's replies: its success statuses, and the error shape for every 4xx and 5xx. */
const replies = (success: Record<number, Schema>): Schema => ({ ...success, '4xx': errorReply, '5xx': errorReply });

/** `schema.response` of every route, by route; frozen, as the contract it is. */
export const RESPONSES = deepFreeze({
  // Open and without input: it fails only with 503 (storage failed, shutting down) or a bug.
  'GET /health': { 200: health, '5xx': errorReply },
  'GET /queues': replies({ 200: queueList }),
  'POST /queues': replies({ 201: queueCreated }),
  'GET /queues/:queueName': replies({ 200: queue }),
  'POST /queues/:queueName/enqueue': replies({ 201: enqueued, 200: duplicate }),
  'POST /queues/:queueName/dequeue': replies({ 200: dequeued }),
  'POST /queues/:queueName/acknowledge': replies({ 200: acked }),
  'POST /queues/:queueName/acknowledge/:itemId': replies({ 200: acked }),
  'GET /queues/:queueName/scan': replies({ 200: scan }),
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
