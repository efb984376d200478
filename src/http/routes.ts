/**
 * The endpoints of the original CoraMQ JSON API, on the broker the gRPC service uses.
 * Thin handlers: the schema checks the request's shape (fastify, no type coercion),
 * src/validate.ts checks names, ids and sizes, the broker does the work, and the reply is
 * shaped here (shapes.ts) and written by its schema (response-schemas.ts). A change is
 * acknowledged only once storage.commit() resolves, as on gRPC. Errors are thrown and become
 * replies in one place (error-replies.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Limits } from '../config';
import type { Broker } from '../engine/broker';
import { NO_ATTRIBUTES } from '../engine/message';
import { CoraError, errors } from '../errors';
import type { Storage } from '../storage/journal';
import * as v from '../validate';
import { LongPoll, waitParam } from './long-poll';
import {
  RESPONSES,
  type AckedReply,
  type DequeuedReply,
  type DuplicateReply,
  type EnqueuedReply,
  type ErrorBody,
  type HealthReply,
  type QueueCreatedReply,
  type QueueListReply,
  type QueueReply,
  type ScanReply,
} from './response-schemas';
import { itemJson, queueJson, queueStatsJson } from './shapes';

/** Most items a scan returns. */
export const SCAN_LIMIT = 100;
/** Most queues one GET /queues returns (the next page starts ?after= the last name). */
export const LIST_LIMIT = 1000;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface RouteDeps {
  readonly broker: Broker;
  readonly storage: Storage;
  readonly limits: Limits;
  /** Open dequeues, ended at shutdown. */
  readonly polls: Set<LongPoll>;
}

interface QueueParams {
  queueName: string;
}

const queueParams = {
  type: 'object',
  required: ['queueName'],
  properties: { queueName: { type: 'string' } },
} as const;

const itemParams = {
  type: 'object',
  required: ['queueName', 'itemId'],
  properties: { queueName: { type: 'string' }, itemId: { type: 'string' } },
} as const;

const createBody = {
  type: 'object',
  required: ['queueName'],
  properties: { queueName: { type: 'string' } },
} as const;

const enqueueBody = {
  type: 'object',
  required: ['item'],
  properties: {
    item: {
      type: 'object',
      required: ['payload'],
      properties: {
        id: { type: 'string' },
        payload: { type: 'string' },
        priority: { type: 'integer', minimum: INT32_MIN, maximum: INT32_MAX },
      },
    },
  },
} as const;

const ackBody = {
  type: 'object',
  required: ['itemId'],
  properties: { itemId: { type: 'string' } },
} as const;

/** Query parameters arrive as strings (repeated: an array, which the schema refuses). */
const query = (...names: string[]) =>
  ({ type: 'object', properties: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) }) as const;

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, storage, limits } = deps;

  /** Resolves once every change made so far is durable. */
  const durable = async (): Promise<void> => {
    const committed = storage.commit();
    if (committed !== null) await committed;
  };

  // 503 (STORAGE_FAILED) once storage failed: the server refuses every change until restarted.
  app.get<{ Reply: HealthReply }>('/health', { schema: { response: RESPONSES['GET /health'] } }, async () => {
    const h = storage.health();
    if (h.state === 'failed') throw new CoraError('STORAGE_FAILED', h.message);
    const message = h.state === 'ok' ? 'CoraMQ is serving' : `CoraMQ is serving; ${h.message}`;
    return { status: 'success', message, storage: storage.kind, storageState: h.state };
  });

  app.get<{ Querystring: { after?: string; limit?: string }; Reply: QueueListReply }>(
    '/queues',
    { schema: { querystring: query('after', 'limit'), response: RESPONSES['GET /queues'] } },
    async (request) => {
      const after = request.query.after ?? '';
      if (after !== '') v.queueName(after, 'after');
      const limit = countParam(request.query.limit, 'limit', LIST_LIMIT);
      const page = broker.listQueues(after, limit + 1);
      const now = broker.now();
      const queues = page.slice(0, limit).map((q) => ({ queueName: q.name, stats: queueStatsJson(q, now) }));
      return { status: 'success', queues, next: page.length > limit ? queues[queues.length - 1].queueName : null };
    },
  );

  const created = { body: createBody, response: RESPONSES['POST /queues'] };
  app.post<{ Body: { queueName: string }; Reply: QueueCreatedReply }>('/queues', { schema: created }, async (request, reply) => {
    const name = v.queueName(request.body.queueName);
    const q = broker.createQueue(name);
    request.log.info({ queue: name, settings: q.settings }, 'queue created');
    await durable();
    reply.code(201);
    return { status: 'success', message: 'Queue created successfully', queueName: name };
  });

  const queueInfo = { params: queueParams, response: RESPONSES['GET /queues/:queueName'] };
  app.get<{ Params: QueueParams; Reply: QueueReply }>('/queues/:queueName', { schema: queueInfo }, async (request) => {
    const q = broker.queue(v.queueName(request.params.queueName));
    return { status: 'success', ...queueJson(q, broker.now()) };
  });

  app.post<{ Params: QueueParams; Body: { item: { id?: string; payload: string; priority?: number } }; Reply: EnqueuedReply | DuplicateReply }>(
    '/queues/:queueName/enqueue',
    { schema: { params: queueParams, body: enqueueBody, response: RESPONSES['POST /queues/:queueName/enqueue'] } },
    async (request, reply) => {
      const queue = v.queueName(request.params.queueName);
      const { id, payload, priority = 1 } = request.body.item;
      if (LONE_SURROGATE.test(payload)) throw errors.invalid('item.payload is not well-formed Unicode: it has a lone surrogate');
      const result = broker.enqueue(queue, {
        id: v.messageId(id ?? ''),
        payload: v.payload(Buffer.from(payload, 'utf8'), limits),
        priority,
        delayMs: 0,
        attributes: NO_ATTRIBUTES,
      });
      await durable();
      const item = { id: result.id, payload, priority };
      if (result.duplicate) {
        return { status: 'success', message: 'Item with this id is already in the queue: not enqueued again', item, duplicate: true };
      }
      reply.code(201);
      return { status: 'success', message: 'Item enqueued successfully', item };
    },
  );

  app.post<{ Params: QueueParams; Querystring: { wait?: string }; Reply: DequeuedReply | ErrorBody }>(
    '/queues/:queueName/dequeue',
    { schema: { params: queueParams, querystring: query('wait'), response: RESPONSES['POST /queues/:queueName/dequeue'] } },
    async (request, reply) => {
      const queue = v.queueName(request.params.queueName);
      const poll = new LongPoll(broker);
      const clientGone = (): void => poll.abandon();
      let outcome;
      try {
        const waitMs = waitParam(request.query.wait);
        deps.polls.add(poll);
        reply.raw.once('close', clientGone);
        // A client gone before this handler ran had its 'close' already: nothing to wait for.
        if (reply.raw.destroyed) poll.abandon();
        else poll.start(queue, waitMs);
        outcome = await poll.outcome;
      } finally {
        poll.end();
        deps.polls.delete(poll);
        reply.raw.off('close', clientGone);
      }
      if (outcome.kind === 'failed') throw outcome.error;
      if (outcome.kind === 'empty') {
        reply.code(404);
        return { status: 'error', message: 'No visible items available in the queue' };
      }
      await durable();
      return { status: 'success', message: 'Item dequeued successfully', item: outcome.item };
    },
  );

  const acknowledge = async (queueName: string, itemId: string): Promise<AckedReply> => {
    const queue = v.queueName(queueName);
    const id = v.requiredMessageId(itemId);
    broker.ack(queue, id, null);
    await durable();
    return { status: 'success', message: 'Item acknowledged successfully', itemId: id };
  };

  app.post<{ Params: QueueParams; Body: { itemId: string }; Reply: AckedReply }>(
    '/queues/:queueName/acknowledge',
    { schema: { params: queueParams, body: ackBody, response: RESPONSES['POST /queues/:queueName/acknowledge'] } },
    async (request) => acknowledge(request.params.queueName, request.body.itemId),
  );

  app.post<{ Params: QueueParams & { itemId: string }; Reply: AckedReply }>(
    '/queues/:queueName/acknowledge/:itemId',
    { schema: { params: itemParams, response: RESPONSES['POST /queues/:queueName/acknowledge/:itemId'] } },
    async (request) => acknowledge(request.params.queueName, request.params.itemId),
  );

  const scan = { params: queueParams, response: RESPONSES['GET /queues/:queueName/scan'] };
  app.get<{ Params: QueueParams; Reply: ScanReply }>('/queues/:queueName/scan', { schema: scan }, async (request) => {
    const queue = v.queueName(request.params.queueName);
    const items = broker.queue(queue).peekReady(SCAN_LIMIT).map(itemJson);
    return { status: 'success', queueName: queue, items };
  });
}

/** A whole-number query parameter from 1 to `max`; `max` when absent. */
function countParam(raw: string | undefined, name: string, max: number): number {
  if (raw === undefined || raw === '') return max;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw errors.invalid(`${name} is '${raw.slice(0, 40)}'; give a whole number from 1 to ${max}`);
  return n;
}
