/**
 * A real CoraMQ server on 127.0.0.1:0 for integration tests, with a client from the
 * generated stubs. By default the server runs on a manual clock: tests move time with
 * `clock.advance(ms)` instead of sleeping.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import pino from 'pino';
import { QueueServiceClient, QueueServiceService } from '../../generated/coramq/v1/queue';
import { defaultConfig, type ServerConfig } from '../../src/config';
import { startServer, type RunningServer, type ServerDeps } from '../../src/server/server';
import type { Storage } from '../../src/storage/journal';
import { ManualClock } from './manual-clock';

export interface TestServer {
  server: RunningServer;
  client: QueueServiceClient;
  clock: ManualClock;
  /** A unary call of the generated client, by method name, as a promise. */
  call: <K extends UnaryName>(method: K, request: RequestOf<K>, metadata?: Metadata) => Promise<ResponseOf<K>>;
  newClient(): QueueServiceClient;
  close(): Promise<void>;
}

type Service = typeof QueueServiceService;
export type UnaryName = { [K in keyof Service]: Service[K]['responseStream'] extends false ? K : never }[keyof Service];
export type RequestOf<K extends keyof Service> = Parameters<Service[K]['requestSerialize']>[0];
export type ResponseOf<K extends keyof Service> = ReturnType<Service[K]['responseDeserialize']>;

export async function startTestServer(
  options: { config?: (c: ServerConfig) => void; clock?: ManualClock | 'system'; storage?: Storage; extendHttp?: ServerDeps['extendHttp'] } = {},
): Promise<TestServer> {
  const config = defaultConfig();
  config.port = 0;
  config.shutdownGraceMs = 2000;
  // Integration tests run in memory unless they ask for storage (WAL tests pass a temp --data-dir).
  config.storage = 'memory';
  options.config?.(config);
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock();
  const server = await startServer(config, {
    clock: options.clock === 'system' ? undefined : clock,
    logger: pino({ level: 'silent' }),
    storage: options.storage,
    extendHttp: options.extendHttp,
  });
  const clients: QueueServiceClient[] = [];
  const newClient = (): QueueServiceClient => {
    const c = new QueueServiceClient(server.address, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    clients.push(c);
    return c;
  };
  const client = newClient();
  const call = <K extends UnaryName>(method: K, request: RequestOf<K>, metadata = new Metadata()): Promise<ResponseOf<K>> =>
    new Promise((resolve, reject) =>
      (client[method] as (...args: unknown[]) => unknown)(request, metadata, (err: ServiceError | null, res: ResponseOf<K>) =>
        err ? reject(err) : resolve(res),
      ),
    );
  return {
    server,
    client,
    clock,
    call,
    newClient,
    async close() {
      clients.forEach((c) => c.close());
      await server.close();
    },
  };
}

/** The rejection of a promise, as a gRPC ServiceError (fails the test if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** The catalogue code a failed call carried in its trailer. */
export function errorCode(err: ServiceError): string | undefined {
  return err.metadata?.get('coramq-error-code')[0] as string | undefined;
}
