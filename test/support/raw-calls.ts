/**
 * Calls with raw bytes, as a client in another language (or a broken one) would send them:
 * grpc-js's generic client under the test server's stub, with bytes in and bytes out.
 */
import { Metadata, type Client, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { TestServer } from './server';

export const QUEUE_SERVICE = '/coramq.v1.QueueService';

/** A (de)serializer that leaves bytes as they are. */
export const identity = (b: Buffer): Buffer => b;

/** The test server's client as grpc-js's generic client. */
export const rawClient = (t: Pick<TestServer, 'client'>): Client => t.client as unknown as Client;

/** The unary method at `path` (`/pkg.Service/Method`) with `bytes` as the request: the error, or null. */
export const unaryRawAt = (t: Pick<TestServer, 'client'>, path: string, bytes: Uint8Array): Promise<ServiceError | null> =>
  new Promise((resolve) => rawClient(t).makeUnaryRequest(path, identity, identity, Buffer.from(bytes), new Metadata(), (err) => resolve(err)));

/** QueueService's unary `rpc` with `bytes` as the request: the error, or null. */
export const unaryRaw = (t: Pick<TestServer, 'client'>, rpc: string, bytes: Uint8Array): Promise<ServiceError | null> => unaryRawAt(t, `${QUEUE_SERVICE}/${rpc}`, bytes);

/** The server-streaming method at `path` with `bytes` as the request: what it sent, and how it ended. */
export const serverStreamRaw = async (t: Pick<TestServer, 'client'>, path: string, bytes: Uint8Array): Promise<{ received: Buffer[]; end: StatusObject }> => {
  const call = rawClient(t).makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), new Metadata());
  const received: Buffer[] = [];
  call.on('data', (b: Buffer) => received.push(b));
  const end = await new Promise<StatusObject>((resolve) => {
    call.on('status', resolve);
    call.on('error', () => {}); // the status event carries it
  });
  return { received, end };
};
