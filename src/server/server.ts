/**
 * Assembles a CoraMQ server: storage, broker, tick driver and the gRPC services (and the
 * HTTP JSON API with --http-port), and takes it down again. `startServer` resolves once the
 * server listens; `close()` shuts down gracefully: no new calls, open Dequeue streams and
 * HTTP long-polls end with UNAVAILABLE (503), running calls get the grace period, storage is
 * flushed and closed.
 */
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { QueueServiceService } from '../../generated/coramq/v1/queue';
import { decodeAckBatchRequest, decodeAckStreamRequest, decodeEnqueueBatchRequest, decodeEnqueueStreamRequest, encodeAckResults, encodeEnqueueResults } from './batch-codecs';
import { dequeueFrameSerializer } from './delivery-frame';
import { systemClock, type Clock } from '../clock';
import type { ServerConfig } from '../config';
import { Broker } from '../engine/broker';
import { startHttpApi, type HttpApi, type HttpApiDeps } from '../http/http-api';
import { createLogger, type Logger } from '../logger';
import type { Storage } from '../storage/journal';
import { MemoryStorage } from '../storage/memory-storage';
import { WalStorage } from '../storage/wal/wal-storage';
import { bearerAuth } from './auth';
import type { OpenStream } from './batch-stream';
import { queueService } from './queue-service';
import { addHealth } from './health';
import { DeliveryPacer } from './delivery-pacer';
import { addReflection } from './reflection';
import { applyReceiveWindow, receiveWindowOption } from './receive-window';
import { TickDriver } from './tick-driver';
import { withTolerantDecoders } from './undecodable-request';

export interface ServerDeps {
  clock?: Clock;
  logger?: Logger;
  /** Storage to use instead of the one the config names (tests). */
  storage?: Storage;
  /** Passed to the HTTP API: called with its fastify instance before its routes (tests add hooks). */
  extendHttp?: HttpApiDeps['extend'];
}

export interface RunningServer {
  readonly port: number;
  /** host:port to dial. */
  readonly address: string;
  readonly broker: Broker;
  readonly storage: Storage;
  readonly log: Logger;
  /** The HTTP JSON API; null when --http-port is not set. */
  readonly http: { readonly port: number; readonly url: string } | null;
  close(): Promise<void>;
}

export function openStorage(config: ServerConfig, log?: Logger): Storage {
  switch (config.storage) {
    case 'memory':
      return new MemoryStorage();
    case 'wal':
      return new WalStorage({ ...config.wal, dir: config.dataDir, log: (log ?? createLogger(config.logLevel)).child({ component: 'wal' }) });
    default:
      throw new Error(`storage '${config.storage}' is not available`);
  }
}

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger ?? createLogger(config.logLevel);
  const storage = deps.storage ?? openStorage(config, log);
  let driver: TickDriver | null = null;
  const broker = new Broker({
    clock,
    journal: storage.journal,
    limits: config.limits,
    onWake: (deadline) => driver?.wake(deadline),
    onDeadLetter: (e) => log.warn(e, e.to === null ? 'message dropped: out of deliveries, no dead-letter queue' : 'message dead-lettered'),
  });
  driver = new TickDriver(clock, () => broker.tick());
  await storage.open(broker);
  const next = broker.tick();
  if (next !== null) driver.wake(next);

  const streams = new Set<OpenStream>();
  const server = new Server({
    'grpc.max_receive_message_length': config.limits.maxRequestBytes,
    ...receiveWindowOption(config.receiveWindow),
  });
  // Dequeue's responses are encoded as deliveries are made (delivery-frame.ts): same bytes, less CPU.
  const definition = {
    ...QueueServiceService,
    dequeue: { ...QueueServiceService.dequeue, responseSerialize: dequeueFrameSerializer },
    // The batch calls' requests and responses, likewise (batch-codecs.ts).
    enqueueBatch: { ...QueueServiceService.enqueueBatch, requestDeserialize: decodeEnqueueBatchRequest, responseSerialize: encodeEnqueueResults },
    enqueueStream: { ...QueueServiceService.enqueueStream, requestDeserialize: decodeEnqueueStreamRequest, responseSerialize: encodeEnqueueResults },
    ackBatch: { ...QueueServiceService.ackBatch, requestDeserialize: decodeAckBatchRequest, responseSerialize: encodeAckResults },
    ackStream: { ...QueueServiceService.ackStream, requestDeserialize: decodeAckStreamRequest, responseSerialize: encodeAckResults },
  };
  server.addService(
    // A request that cannot be decoded is the caller's INVALID_ARGUMENT, not grpc-js's INTERNAL (undecodable-request.ts).
    withTolerantDecoders(definition),
    queueService({ broker, limits: config.limits, log, storage, streams, pacer: new DeliveryPacer(config.deliveriesPerTurn), authenticate: bearerAuth(config.authToken) }),
  );
  addReflection(server);
  const health = addHealth(server, storage, log);

  const credentials =
    config.tlsCert !== null && config.tlsKey !== null
      ? ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(config.tlsCert), private_key: readFileSync(config.tlsKey) }])
      : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.host}:${config.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  if (!applyReceiveWindow(server, config.receiveWindow)) {
    log.warn({ receiveWindow: config.receiveWindow }, "--receive-window not applied: this grpc-js's HTTP/2 servers cannot be reached (receive-window.ts); clients get HTTP/2's 65535 bytes");
  }
  const address = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const durable = storage.kind === 'wal' ? { dataDir: config.dataDir, fsync: config.wal.fsync } : {};
  log.info(
    { address, storage: storage.kind, ...durable, tls: config.tlsCert !== null, auth: config.authToken !== null },
    storage.kind === 'memory' ? 'CoraMQ listening (in-memory storage: nothing survives a restart)' : 'CoraMQ listening',
  );

  // The HTTP JSON API (src/http/), on the same broker and storage, when --http-port is set.
  let http: HttpApi | null = null;
  if (config.httpPort !== null) {
    try {
      http = await startHttpApi({ config, broker, storage, log, extend: deps.extendHttp });
    } catch (err) {
      server.forceShutdown();
      driver.stop();
      await storage.close();
      throw err;
    }
  }

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info({ streams: streams.size }, 'shutting down');
      health.stopping();
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      for (const s of [...streams]) s.shutdown();
      const httpClosed = http?.close(config.shutdownGraceMs);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.shutdownGraceMs);
      });
      if ((await Promise.race([drained, graceOver])) === 'timeout') {
        log.warn({ graceMs: config.shutdownGraceMs }, 'calls still running after the grace period: cancelling them');
        server.forceShutdown();
      }
      clearTimeout(timer);
      await httpClosed;
      driver?.stop();
      await storage.close();
      log.info('stopped');
    })();
    return closing;
  };

  return { port, address, broker, storage, log, http: http && { port: http.port, url: http.url }, close };
}
