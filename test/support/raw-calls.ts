/**
 * Calls with raw bytes, as a client in another language (or a broken one) would send them:
 * grpc-js's generic client under the test server's stub, with bytes in and bytes out.
 */
import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import type { TestServer } from './server';

export const QUEUE_SERVICE = '/coramq.v1.QueueService';

/** A (de)serializer that leaves bytes as they are. */
export const identity = (b: Buffer): Buffer => b;

/** The test server's client as grpc-js's generic client. */
export const rawClient = (t: Pick<TestServer, 'client'>): Client => t.client as unknown as Client;

/** QueueService's unary `rpc` with `bytes` as the request: the error, or null. */
export const unaryRaw = (t: Pick<TestServer, 'client'>, rpc: string, bytes: Uint8Array): Promise<ServiceError | null> =>
  new Promise((resolve) => rawClient(t).makeUnaryRequest(`${QUEUE_SERVICE}/${rpc}`, identity, identity, Buffer.from(bytes), new Metadata(), (err) => resolve(err)));
