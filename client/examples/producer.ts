/**
 * A producer: creates the queue if it is missing and enqueues ten welcome emails.
 *
 *   CORAMQ_ADDRESS=localhost:50051 node producer.js
 *
 * The ten enqueue calls are made at once; the client sends them to the server as one
 * EnqueueBatch call, and each still gets its own result. The ids make a re-run safe: a message
 * whose id is still in the queue is not enqueued twice.
 */
import { CoraMQClient, QueueExistsError } from '@coramq/client';

const address = process.env.CORAMQ_ADDRESS ?? 'localhost:50051';
const queue = process.env.CORAMQ_QUEUE ?? 'emails';
const client = new CoraMQClient(address, { token: process.env.CORAMQ_TOKEN });

async function main(): Promise<void> {
  try {
    await client.createQueue(queue, { visibilityTimeout: 30_000, maxDeliveries: 5 });
  } catch (err) {
    if (!(err instanceof QueueExistsError)) throw err;
  }
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      client.enqueue(queue, { to: `user${i}@example.com`, template: 'welcome' }, { id: `welcome-${i}`, priority: i % 3 }),
    ),
  );
  for (const r of results) console.log(`enqueued ${r.id}${r.duplicate ? ' (already queued)' : ''}`);
  await client.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
