/** Small builders for wire requests in tests. */
import { DequeueRequest, EnqueueRequest } from '../../generated/coramq/v1/queue';
import type { Duration } from '../../generated/google/protobuf/duration';
import type { TestServer } from './server';
import { StreamReader } from './stream-reader';

export const ms = (n: number): Duration => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1e6 });

export function enqueue(t: TestServer, queue: string, fields: Partial<EnqueueRequest> = {}) {
  return t.call('enqueue', EnqueueRequest.fromPartial({ queue, payload: Buffer.from(fields.id ?? 'payload'), ...fields }));
}

export function dequeue(t: TestServer, queue: string, fields: Partial<DequeueRequest> = {}, client = t.client): StreamReader {
  return new StreamReader(client.dequeue(DequeueRequest.fromPartial({ queue, ...fields })));
}

export async function createQueue(t: TestServer, name: string, config: Record<string, unknown> = {}) {
  return t.call('createQueue', { name, config: { visibilityTimeout: undefined, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 0, ...config } });
}
