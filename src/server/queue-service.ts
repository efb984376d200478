/**
 * coramq.v1.QueueService: thin handlers, typed from the generated service definition (a
 * missing RPC fails to compile). Each validates its request, calls the broker and shapes
 * the reply; unary plumbing is in rpc.ts, the stream in dequeue-stream.ts.
 */
import type { AckEntry, AckResult, AckStreamRequest, AckStreamResponse, EnqueueBatchEntry, EnqueueResult, EnqueueStreamRequest, EnqueueStreamResponse, EntryError, QueueServiceServer } from '../../generated/coramq/v1/queue';
import { batchStream, type OpenStream } from './batch-stream';
import type { Limits } from '../config';
import type { Broker } from '../engine/broker';
import type { NewMessage } from '../engine/queue';
import { errors } from '../errors';
import * as v from '../validate';
import { durationMs, toTimestamp, toWireQueue } from './convert';
import { DequeueStream, type DequeueCall } from './dequeue-stream';
import type { DeliveryPacer } from './delivery-pacer';
import { toEntryError, toStatus } from './grpc-status';
import { unary, type RpcContext } from './rpc';
import { UndecodableRequest } from './undecodable-request';

const LIST_PAGE_DEFAULT = 1000;
const LIST_PAGE_MAX = 1000;

export interface QueueServiceDeps extends RpcContext {
  readonly broker: Broker;
  readonly limits: Limits;
  /** Open streams (Dequeue, EnqueueStream, AckStream), ended with UNAVAILABLE at shutdown. */
  readonly streams: Set<OpenStream>;
  /** Bounds the deliveries made in one turn of the event loop, across Dequeue streams. */
  readonly pacer: DeliveryPacer;
}

export function queueService(deps: QueueServiceDeps): QueueServiceServer {
  const { broker, limits } = deps;

  const newMessage = (m: EnqueueBatchEntry): NewMessage => ({
    id: v.messageId(m.id),
    payload: v.payload(m.payload, limits),
    priority: m.priority,
    delayMs: v.delayMs(durationMs(m.delay, 'delay') ?? 0, limits),
    attributes: v.attributes(m.attributes, limits),
  });

  /**
   * A batch call: the batch is checked as a whole (its size, the request's queue when set),
   * then each entry succeeds or fails alone, on its own queue when it names one (a bad or
   * unknown entry queue fails that entry only). The whole batch runs in this one turn, so its
   * journal records share one commit.
   */
  const eachEntry = <E extends { queue?: string }, R>(
    requestQueue: string,
    entries: E[],
    what: string,
    run: (queue: string, e: E) => R,
    failed: (e: E, error: EntryError) => R,
  ): R[] => {
    v.batchSize(entries.length, what, limits);
    const fallback = v.batchQueue(requestQueue, entries, what);
    if (fallback !== '') broker.queue(fallback);
    return entries.map((e, i) => {
      try {
        return run(v.entryQueue(e.queue, fallback, what, i), e);
      } catch (err) {
        return failed(e, toEntryError(err, deps.log));
      }
    });
  };

  /** The entries of an EnqueueBatch (or EnqueueStream request), each enqueued on its own. */
  const enqueueEntries = (queue: string, entries: EnqueueBatchEntry[]): EnqueueResult[] =>
    eachEntry<EnqueueBatchEntry, EnqueueResult>(
      queue,
      entries,
      'messages',
      (q, entry) => {
        const { id, duplicate } = broker.enqueue(q, newMessage(entry));
        return { id, duplicate, error: undefined };
      },
      (_, error) => ({ id: '', duplicate: false, error }),
    );

  /** The entries of an AckBatch (or AckStream request), each acked on its own. */
  const ackEntries = (queue: string, entries: AckEntry[]): AckResult[] => {
    const ack = (q: string, e: AckEntry): AckResult => {
      broker.ack(q, v.requiredMessageId(e.id), v.receipt(e.receipt));
      return { id: e.id, error: undefined };
    };
    return eachEntry(queue, entries, 'entries', ack, (e, error) => ({ id: e.id, error }));
  };

  return {
    createQueue: unary(deps, 'CreateQueue', (req) => {
      const name = v.queueName(req.name);
      const c = req.config;
      const visibility = durationMs(c?.visibilityTimeout, 'config.visibility_timeout');
      const q = broker.createQueue(name, {
        visibilityTimeoutMs: visibility === null ? undefined : v.visibilityTimeoutMs(visibility, 'config.visibility_timeout'),
        maxDeliveries: c?.maxDeliveries,
        deadLetterQueue: c?.deadLetterQueue ? v.queueName(c.deadLetterQueue, 'config.dead_letter_queue') : '',
        maxDepth: c?.maxDepth,
      });
      deps.log.info({ queue: name, settings: q.settings }, 'queue created');
      return { queue: toWireQueue(q, broker.now()) };
    }),

    getQueue: unary(deps, 'GetQueue', (req) => ({
      queue: toWireQueue(broker.queue(v.queueName(req.name)), broker.now()),
    })),

    listQueues: unary(deps, 'ListQueues', (req) => {
      const size = req.pageSize === 0 ? LIST_PAGE_DEFAULT : req.pageSize;
      if (size > LIST_PAGE_MAX) throw errors.invalid(`page_size is ${size}; the limit is ${LIST_PAGE_MAX}`);
      if (req.pageToken !== '') v.queueName(req.pageToken, 'page_token');
      const page = broker.listQueues(req.pageToken, size + 1);
      const now = broker.now();
      const more = page.length > size;
      const queues = page.slice(0, size);
      return {
        queues: queues.map((q) => toWireQueue(q, now)),
        nextPageToken: more ? queues[queues.length - 1].name : '',
      };
    }),

    deleteQueue: unary(deps, 'DeleteQueue', (req) => {
      const name = v.queueName(req.name);
      broker.deleteQueue(name);
      deps.log.info({ queue: name }, 'queue deleted');
      return {};
    }),

    purgeQueue: unary(deps, 'PurgeQueue', (req) => {
      const name = v.queueName(req.name);
      const purged = broker.purgeQueue(name);
      deps.log.info({ queue: name, purged }, 'queue purged');
      return { purged };
    }),

    enqueue: unary(deps, 'Enqueue', (req) => broker.enqueue(v.queueName(req.queue), newMessage(req))),

    enqueueBatch: unary(deps, 'EnqueueBatch', (req) => ({ results: enqueueEntries(req.queue, req.messages) })),

    enqueueStream: batchStream<EnqueueStreamRequest, EnqueueStreamResponse>(
      deps,
      'EnqueueStream',
      (req) => ({ results: enqueueEntries(req.queue, req.messages), error: undefined }),
      (error) => ({ results: [], error }),
    ),

    dequeue: (call: DequeueCall) => {
      const stream = new DequeueStream(call, broker, deps.pacer, deps.log, (s) => deps.streams.delete(s));
      try {
        deps.authenticate(call.metadata);
        const req = call.request;
        if (req instanceof UndecodableRequest) throw req.error;
        const queue = v.queueName(req.queue);
        const visibility = durationMs(req.visibilityTimeout, 'visibility_timeout');
        const wait = durationMs(req.waitTime, 'wait_time');
        const waitMs = wait === null ? null : v.waitMs(wait);
        const q = broker.queue(queue);
        deps.streams.add(stream);
        stream.start(queue, {
          maxInFlight: v.maxInFlight(req.maxInFlight, limits),
          visibilityTimeoutMs: visibility === null ? q.settings.visibilityTimeoutMs : v.visibilityTimeoutMs(visibility),
          maxMessages: req.maxMessages === 0 ? Infinity : req.maxMessages,
          idleMs: waitMs,
          deadlineAt: deadlineAt(call, broker.now()),
        });
      } catch (err) {
        deps.streams.delete(stream);
        call.emit('error', toStatus(err, deps.log.child({ rpc: 'Dequeue', peer: call.getPeer() })));
      }
    },

    ack: unary(deps, 'Ack', (req) => {
      broker.ack(v.queueName(req.queue), v.requiredMessageId(req.id), v.receipt(req.receipt));
      return {};
    }),

    ackBatch: unary(deps, 'AckBatch', (req) => ({ results: ackEntries(req.queue, req.entries) })),

    ackStream: batchStream<AckStreamRequest, AckStreamResponse>(
      deps,
      'AckStream',
      (req) => ({ results: ackEntries(req.queue, req.entries), error: undefined }),
      (error) => ({ results: [], error }),
    ),

    nack: unary(deps, 'Nack', (req) => {
      const delay = v.delayMs(durationMs(req.delay, 'delay') ?? 0, limits);
      const deadLettered = broker.nack(v.queueName(req.queue), v.requiredMessageId(req.id), v.receipt(req.receipt), delay);
      return { deadLettered };
    }),

    extendVisibility: unary(deps, 'ExtendVisibility', (req) => {
      const timeout = durationMs(req.visibilityTimeout, 'visibility_timeout');
      if (timeout === null) throw errors.invalid('visibility_timeout is required');
      const visibleAt = broker.extendVisibility(
        v.queueName(req.queue),
        v.requiredMessageId(req.id),
        v.receipt(req.receipt),
        v.visibilityTimeoutMs(timeout),
      );
      return { visibleAt: toTimestamp(visibleAt) };
    }),
  };
}

/**
 * A long-poll ends a little before the client's deadline (10% of the time left, at most 1 s
 * early), so it ends with OK and what it delivered arrives, instead of DEADLINE_EXCEEDED.
 */
function deadlineAt(call: DequeueCall, now: number): number | null {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return null;
  const left = at - Date.now();
  return now + Math.max(0, Math.floor(left - Math.min(1000, left * 0.1)));
}
