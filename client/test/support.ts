/**
 * Helpers for the client's tests: a counter of the RPCs a client makes (a grpc-js
 * interceptor, so it sees exactly what goes on the wire), deferred promises, and waiting for
 * a condition that the code under test signals (no sleeping).
 */
import { InterceptingCall, type Interceptor, type StatusObject } from '@grpc/grpc-js';

export interface RpcCounter {
  interceptor: Interceptor;
  /** Calls of `method` (e.g. 'EnqueueBatch') started so far. */
  started(method: string): number;
  /** Calls of `method` that have their final status, and those statuses' codes. */
  finished(method: string): number[];
  /** Resolves once `n` calls of `method` have their final status. */
  untilFinished(method: string, n: number): Promise<void>;
  /**
   * Batches of `kind` sent, on either transport: EnqueueBatch / AckBatch calls started plus
   * requests written on EnqueueStream / AckStream.
   */
  batches(kind: 'Enqueue' | 'Ack'): number;
  /** Resolves once the client has written `n` messages of `method` (e.g. 'EnqueueStream'). */
  untilSent(method: string, n: number): Promise<void>;
  /** Resolves once `n` messages of `method` (e.g. 'EnqueueStream') have reached the client. */
  untilReceived(method: string, n: number): Promise<void>;
  /**
   * The outcome of each answered batch of `kind`, on either transport: a unary call's status
   * code, or a streamed answer's whole-batch error code (0 when it has none).
   */
  batchCodes(kind: 'Enqueue' | 'Ack'): number[];
  /**
   * What each batch of `kind` sent said about queues, on either transport, as it was when
   * written: the request's `queue` and each entry's.
   */
  batchQueues(kind: 'Enqueue' | 'Ack'): BatchQueues[];
}

export interface BatchQueues {
  queue: string;
  entries: string[];
}

interface BatchRequest {
  queue: string;
  messages?: { queue: string }[];
  entries?: { queue: string }[];
}

export function rpcCounter(): RpcCounter {
  const started = new Map<string, number>();
  const finished = new Map<string, number[]>();
  const sent = new Map<string, number>();
  const streamCodes = new Map<string, number[]>();
  const received = new Map<string, number>();
  const shapes = new Map<string, BatchQueues[]>();
  const waits = new Notifier();
  const add = <T>(m: Map<string, T[]>, k: string, v: T): void => void m.set(k, [...(m.get(k) ?? []), v]);
  const interceptor: Interceptor = (options, nextCall) => {
    const method = options.method_definition.path.split('/').pop() as string;
    started.set(method, (started.get(method) ?? 0) + 1);
    return new InterceptingCall(nextCall(options), {
      sendMessage(message, next) {
        sent.set(method, (sent.get(method) ?? 0) + 1);
        const kind = /^(Enqueue|Ack)(Batch|Stream)$/.exec(method)?.[1];
        if (kind !== undefined) {
          const r = message as BatchRequest;
          add(shapes, kind, { queue: r.queue, entries: (r.messages ?? r.entries ?? []).map((e) => e.queue) });
        }
        next(message);
        waits.notify();
      },
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveMessage(message: { error?: { code: number } }, nextMessage: (m: unknown) => void) {
            if (method.endsWith('Stream')) add(streamCodes, method, message.error?.code ?? 0);
            received.set(method, (received.get(method) ?? 0) + 1);
            waits.notify();
            nextMessage(message);
          },
          onReceiveStatus(s: StatusObject, nextStatus: (s: StatusObject) => void) {
            nextStatus(s);
            finished.set(method, [...(finished.get(method) ?? []), s.code]);
            waits.notify();
          },
        });
      },
    });
  };
  return {
    interceptor,
    started: (m) => started.get(m) ?? 0,
    finished: (m) => finished.get(m) ?? [],
    untilFinished: (m, n) => waits.until(() => (finished.get(m) ?? []).length >= n, `${n} finished ${m} calls`),
    untilSent: (m, n) => waits.until(() => (sent.get(m) ?? 0) >= n, `${n} messages of ${m} sent`),
    untilReceived: (m, n) => waits.until(() => (received.get(m) ?? 0) >= n, `${n} messages of ${m}`),
    batches: (kind) => (started.get(`${kind}Batch`) ?? 0) + (sent.get(`${kind}Stream`) ?? 0),
    batchCodes: (kind) => [...(finished.get(`${kind}Batch`) ?? []), ...(streamCodes.get(`${kind}Stream`) ?? [])],
    batchQueues: (kind) => shapes.get(kind) ?? [],
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function defer<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Waiting for a condition that the code under test makes true and says so with notify().
 * A condition still false after `timeoutMs` fails the wait with `what`, so a broken test
 * fails with a message instead of hanging until jest's timeout.
 */
export class Notifier {
  private waiters: (() => void)[] = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }
}

/** The rejection of a promise (fails the test if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/**
 * Waits until `cond` (which asks the server, e.g. for a queue's stats) is true, for what has
 * no event to wait on: the server's side of an ack or a stream cancel. Asks again on the next
 * turn, or after `pauseMs` against a server in another process.
 */
export async function eventually(cond: () => Promise<boolean>, what: string, { tries = 1000, pauseMs = 0 } = {}): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => (pauseMs === 0 ? setImmediate(r) : setTimeout(r, pauseMs)));
  }
  throw new Error(`timed out waiting for ${what}`);
}
