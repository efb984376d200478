/**
 * The one gRPC channel of a client and how every call is made on it: the bearer token,
 * deadlines, AbortSignals, status to CoraMQError (errors.ts), and retries of calls that are
 * safe to repeat.
 *
 * Calls wait for the connection (gRPC wait-for-ready) until their deadline, so a call made
 * while the server restarts is sent once it is back; a call is never sent twice unless the
 * caller says it is idempotent (`retry`), and then only after UNAVAILABLE, with backoff, while
 * its deadline allows. The channel reconnects by itself with the `reconnect` backoff.
 *
 * Typed from the generated service definition: a method name that the contract lacks fails
 * to compile.
 */
import { Client, credentials, Metadata, status, type CallOptions, type ChannelCredentials, type ClientDuplexStream, type ClientOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { QueueServiceService, type DequeueRequest } from '../../generated/coramq/v1/queue';
import { Backoff, type BackoffOptions } from './backoff';
import { decodeAckBatchResponse, decodeAckStreamResponse, decodeEnqueueBatchResponse, decodeEnqueueStreamResponse } from './batch-decoders';
import { encodeAckBatch, encodeEnqueueBatch } from './batch-encoders';
import type { Clock } from './clock';
import { abortError, CoraMQError, InvalidArgumentError, isTransient, statusError } from './errors';
import { HTTP2_DEFAULT_WINDOW, HTTP2_MAX_WINDOW } from '../../src/wire/http2-window';

type Service = typeof QueueServiceService;
export type UnaryMethod = { [K in keyof Service]: Service[K]['responseStream'] extends false ? K : never }[keyof Service];
export type DuplexMethod = { [K in keyof Service]: Service[K]['requestStream'] extends true ? K : never }[keyof Service];
export type RequestOf<K extends keyof Service> = Parameters<Service[K]['requestSerialize']>[0];
export type ResponseOf<K extends keyof Service> = ReturnType<Service[K]['responseDeserialize']>;
export type Done<T> = (err: CoraMQError | null, result?: T) => void;

export interface TlsOptions {
  /** PEM root certificate(s) to trust instead of the system's. */
  ca?: Buffer | string;
  /** PEM client certificate and key, for servers that ask for one. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** The name to check the server's certificate against, when it differs from the address's host. */
  serverName?: string;
}

export interface ConnectionOptions {
  /** true: TLS with the system's roots; an object: TLS with these settings. Default: plaintext. */
  tls?: boolean | TlsOptions;
  /** Sent as `authorization: Bearer <token>` on every call (the server's --auth-token). */
  token?: string;
  /** How the channel backs off between connection attempts. Default 100 ms doubling to 5 s. */
  reconnect?: BackoffOptions;
  /**
   * HTTP/2 receive window in bytes, of the connection and of each stream: how much the server
   * may send before this client reads it. Default 8 MiB (DEFAULT_RECEIVE_WINDOW).
   */
  receiveWindow?: number;
  /** grpc-js client options (channel options such as keepalive, interceptors), applied last. */
  channelOptions?: ClientOptions;
}

/**
 * The default receive window. HTTP/2's own is 64 KiB for the whole connection, and grpc-js does
 * not grow it (other gRPC implementations do, by measuring the round trip). Deliveries to every
 * subscription of a client share the connection's window: at 64 KiB, about 190 deliveries of
 * 256 bytes fit before the server has to wait for this client's WINDOW_UPDATE, so with many
 * subscriptions the window, not either process, set the pace (bench/README.md, target 7).
 * Each Dequeue stream stays bounded by its maxInFlight whatever the window.
 */
export const DEFAULT_RECEIVE_WINDOW = 8 * 1024 * 1024;

/** The grpc-js channel options of a connection with these options. */
export function channelOptionsOf(options: ConnectionOptions): ClientOptions {
  const window = options.receiveWindow ?? DEFAULT_RECEIVE_WINDOW;
  if (!Number.isInteger(window) || window < HTTP2_DEFAULT_WINDOW || window > HTTP2_MAX_WINDOW) {
    throw new InvalidArgumentError(`receiveWindow must be an integer number of bytes from ${HTTP2_DEFAULT_WINDOW} to ${HTTP2_MAX_WINDOW} (got ${window})`, status.INVALID_ARGUMENT);
  }
  const tls = typeof options.tls === 'object' ? options.tls : undefined;
  return {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.initial_reconnect_backoff_ms': options.reconnect?.initialDelay ?? 100,
    'grpc.max_reconnect_backoff_ms': options.reconnect?.maxDelay ?? 5000,
    'grpc.max_receive_message_length': -1,
    'grpc-node.flow_control_window': window,
    ...(tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName }),
    ...options.channelOptions,
  };
}

const pem = (v: Buffer | string | undefined): Buffer | null => (v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));

function channelCredentials(tls: ConnectionOptions['tls']): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/**
 * Hand-written encoders for the requests a busy client sends most (batch-encoders.ts): the
 * generated encoders' exact bytes, for a fraction of the CPU. Other methods use the generated ones.
 */
const FAST_SERIALIZERS: { [K in keyof Service]?: (v: RequestOf<K>) => Buffer } = {
  enqueueBatch: encodeEnqueueBatch,
  enqueueStream: encodeEnqueueBatch,
  ackBatch: encodeAckBatch,
  ackStream: encodeAckBatch,
};

const serializerOf = <K extends keyof Service>(method: K, generated: (v: RequestOf<K>) => Buffer): ((v: RequestOf<K>) => Buffer) =>
  (FAST_SERIALIZERS[method] as ((v: RequestOf<K>) => Buffer) | undefined) ?? generated;

/**
 * Hand-written decoders for the responses a busy client receives most (batch-decoders.ts):
 * what the generated decoders read, for a fraction of the CPU. Other methods use the
 * generated ones; Dequeue streams take their decoder from the caller (dequeue-decoder.ts).
 */
const FAST_DESERIALIZERS: { [K in keyof Service]?: (b: Buffer) => ResponseOf<K> } = {
  enqueueBatch: decodeEnqueueBatchResponse,
  enqueueStream: decodeEnqueueStreamResponse,
  ackBatch: decodeAckBatchResponse,
  ackStream: decodeAckStreamResponse,
};

const deserializerOf = <K extends keyof Service>(method: K, generated: (b: Buffer) => ResponseOf<K>): ((b: Buffer) => ResponseOf<K>) =>
  (FAST_DESERIALIZERS[method] as ((b: Buffer) => ResponseOf<K>) | undefined) ?? generated;

const closedError = (): CoraMQError => new CoraMQError('the client is closed', status.CANCELLED);
const callOptions = (deadlineAt: number): CallOptions => (deadlineAt === Infinity ? {} : { deadline: deadlineAt });

export class Connection {
  private readonly client: Client;
  private readonly authorization: string | null;
  private inflight = 0;
  private closed = false;
  private idle: (() => void)[] = [];
  /** Waits between retries of safe calls. */
  readonly backoff: Backoff;

  constructor(
    readonly address: string,
    options: ConnectionOptions,
    private readonly clock: Clock,
  ) {
    this.authorization = options.token === undefined ? null : `Bearer ${options.token}`;
    this.backoff = new Backoff(options.reconnect);
    this.client = new Client(address, channelCredentials(options.tls), channelOptionsOf(options));
  }

  private metadata(): Metadata {
    const md = new Metadata({ waitForReady: true });
    if (this.authorization !== null) md.set('authorization', this.authorization);
    return md;
  }

  /** One unary call; `done` gets the response or the mapped error. Never throws. */
  unary<K extends UnaryMethod>(method: K, request: RequestOf<K>, deadlineAt: number, signal: AbortSignal | undefined, done: Done<ResponseOf<K>>): void {
    if (signal?.aborted) return done(abortError(signal, method));
    const def = QueueServiceService[method] as unknown as {
      path: string;
      requestSerialize: (v: RequestOf<K>) => Buffer;
      responseDeserialize: (b: Buffer) => ResponseOf<K>;
    };
    if (this.closed) return done(closedError());
    this.inflight++;
    let onAbort: (() => void) | undefined;
    const call = this.client.makeUnaryRequest(
      def.path,
      serializerOf(method, def.requestSerialize),
      deserializerOf(method, def.responseDeserialize),
      request,
      this.metadata(),
      callOptions(deadlineAt),
      (err: ServiceError | null, res?: ResponseOf<K>) => {
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
        this.settled();
        if (err === null) done(null, res);
        else done(signal?.aborted ? abortError(signal, method) : statusError(err));
      },
    );
    if (signal !== undefined) {
      onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /**
   * A unary call that is safe to repeat: after UNAVAILABLE it is made again, with backoff,
   * while the deadline allows and the signal is not aborted.
   */
  retrying<K extends UnaryMethod>(method: K, request: RequestOf<K>, deadlineAt: number, signal: AbortSignal | undefined, done: Done<ResponseOf<K>>, attempt = 0): void {
    this.unary(method, request, deadlineAt, signal, (err, res) => {
      if (err === null || !isTransient(err)) return done(err, res);
      const wait = this.backoff.delay(attempt);
      if (Date.now() + wait >= deadlineAt) return done(err);
      const cancel = this.later(wait, () => {
        signal?.removeEventListener('abort', onAbort);
        this.retrying(method, request, deadlineAt, signal, done, attempt + 1);
      });
      const onAbort = (): void => {
        cancel();
        done(abortError(signal!, method));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` after `delayMs`; counts as outstanding work for `drained()`. Returns a cancel function. */
  later(delayMs: number, fn: () => void): () => void {
    this.inflight++;
    let pending = true;
    const timer = this.clock.setTimer(delayMs, () => {
      pending = false;
      this.settled();
      fn();
    });
    return () => {
      if (!pending) return;
      pending = false;
      this.clock.clearTimer(timer);
      this.settled();
    };
  }

  /**
   * Opens a Dequeue stream (wait-for-ready: it is sent once the channel is connected); each
   * frame is read by `decode` (a DequeueDecoder's, which reads what the generated decoder
   * reads, in the shape the caller wants: the generated one was a quarter of a consumer's CPU).
   */
  dequeue<T>(request: DequeueRequest, deadlineAt: number, decode: (frame: Buffer) => T): ClientReadableStream<T> {
    if (this.closed) throw closedError();
    const def = QueueServiceService.dequeue;
    return this.client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      decode,
      request,
      this.metadata(),
      callOptions(deadlineAt),
    );
  }

  /** Opens a bidirectional stream (wait-for-ready), with no deadline: it lives until ended. */
  duplex<K extends DuplexMethod>(method: K): ClientDuplexStream<RequestOf<K>, ResponseOf<K>> {
    if (this.closed) throw closedError();
    const def = QueueServiceService[method] as unknown as {
      path: string;
      requestSerialize: (v: RequestOf<K>) => Buffer;
      responseDeserialize: (b: Buffer) => ResponseOf<K>;
    };
    return this.client.makeBidiStreamRequest(def.path, serializerOf(method, def.requestSerialize), deserializerOf(method, def.responseDeserialize), this.metadata(), {});
  }

  /** Counts one piece of outstanding work for `drained()`; call the function returned when it is done. */
  track(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.settled();
    };
  }

  /** Resolves once no unary call or wait made with `later` is outstanding. */
  drained(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Resolves once the channel is connected (it connects if idle); rejects with
   * DeadlineExceededError when it is not by `deadlineAt`, CancelledError when `signal` aborts.
   */
  ready(deadlineAt: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal, 'ready'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal!, 'ready'));
      signal?.addEventListener('abort', onAbort, { once: true });
      // grpc-js needs a finite deadline: "none" is the latest Date there is.
      this.client.waitForReady(deadlineAt === Infinity ? new Date(8.64e15) : deadlineAt, (err) => {
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined || err === null) resolve();
        else reject(statusError({ code: status.DEADLINE_EXCEEDED, details: `could not connect to ${this.address} in time (${err.message})`, metadata: new Metadata() }));
      });
    });
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private settled(): void {
    if (--this.inflight === 0 && this.idle.length > 0) {
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    }
  }
}
