/**
 * A long-lived bidirectional stream that carries batch requests (EnqueueStream, AckStream)
 * and hands each answer to its request's callback, in order: the server answers requests in
 * the order they came. It saves the cost of a call per batch, which on grpc-js is most of
 * the cost of a small batch.
 *
 * The stream opens with the first request (wait-for-ready, like every call) and is reopened
 * by the next request after it breaks. When it breaks, every request not yet answered fails
 * with the stream's error (UNAVAILABLE after a server restart: the batch may or may not have
 * been applied, as for a unary call that lost its reply). A request whose deadline passes
 * before its answer fails with DEADLINE_EXCEEDED (its answer, if it comes, is dropped).
 * `end()` half-closes the stream: the server answers what it has, then ends it.
 *
 * Invariants: `waiting` holds, in send order, one entry per request written on the current
 * stream and not yet answered; one timer at most, for the earliest deadline.
 */
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { Clock } from './clock';
import type { Connection, Done, DuplexMethod, RequestOf, ResponseOf } from './connection';
import { statusError, toError, type CoraMQError } from './errors';
import { Fifo } from './fifo';

interface Waiting<T> {
  done: Done<T>;
  /** When the deadline passes, on the injected clock. */
  expiresAt: number;
  settled: boolean;
  untrack: () => void;
}

export class Pipeline<K extends DuplexMethod> {
  private call: ClientDuplexStream<RequestOf<K>, ResponseOf<K>> | null = null;
  private waiting = new Fifo<Waiting<ResponseOf<K>>>();
  private timer: unknown = null;
  private timerAt = Infinity;

  constructor(
    private readonly conn: Connection,
    private readonly method: K,
    private readonly clock: Clock,
  ) {}

  send(request: RequestOf<K>, deadlineAt: number, done: Done<ResponseOf<K>>): void {
    let call = this.call;
    if (call === null) {
      try {
        call = this.open();
      } catch (err) {
        return done(err as CoraMQError);
      }
    }
    // Deadlines are wall-clock times (as gRPC's are); the timer runs on the injected clock.
    const expiresAt = deadlineAt === Infinity ? Infinity : this.clock.now() + (deadlineAt - Date.now());
    this.waiting.push({ done, expiresAt, settled: false, untrack: this.conn.track() });
    if (expiresAt < this.timerAt) this.arm(expiresAt);
    call.write(request);
  }

  /** Half-closes the stream (the server answers what it has, then ends it). */
  end(): void {
    this.call?.end();
  }

  private open(): ClientDuplexStream<RequestOf<K>, ResponseOf<K>> {
    const call = this.conn.duplex(this.method);
    this.call = call;
    call.on('data', (response: ResponseOf<K>) => {
      const w = this.waiting.shift();
      if (w !== undefined) this.settle(w, null, response);
    });
    call.on('error', (err: ServiceError) => this.broken(call, statusError(err)));
    call.on('end', () => this.broken(call, toError(status.UNAVAILABLE, undefined, 'the server ended the stream')));
    return call;
  }

  /** The stream is over: every request still waiting on it fails with `err`. */
  private broken(call: ClientDuplexStream<RequestOf<K>, ResponseOf<K>>, err: CoraMQError): void {
    if (this.call !== call) return;
    this.call = null;
    for (const w of this.waiting.drain()) this.settle(w, err);
    this.disarm();
  }

  private settle(w: Waiting<ResponseOf<K>>, err: CoraMQError | null, response?: ResponseOf<K>): void {
    if (w.settled) return;
    w.settled = true;
    w.untrack();
    w.done(err, response);
  }

  private arm(at: number): void {
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = this.clock.setTimer(at - this.clock.now(), this.expire);
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** Fails the requests whose deadline passed; re-arms for the next one. */
  private readonly expire = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const w of this.waiting.peekAll()) {
      if (w.settled) continue;
      if (w.expiresAt <= now) this.settle(w, toError(status.DEADLINE_EXCEEDED, undefined, 'deadline exceeded waiting for the server to answer the batch'));
      else if (w.expiresAt < next) next = w.expiresAt;
    }
    if (next !== Infinity) this.arm(next);
  };
}
