/**
 * A worker: sends the emails the producer queued, eight at a time, until SIGINT or SIGTERM.
 *
 *   CORAMQ_ADDRESS=localhost:50051 node worker.js
 *
 * A message is acked when the handler returns and nacked (retried later, with backoff) when it
 * throws; its lease is extended while the handler runs; the worker reconnects by itself if the
 * server restarts. On a signal, client.close() stops taking messages and waits for the running
 * handlers and their acks, then the process exits.
 */
import { CoraMQClient, type ReceivedMessage } from '@coramq/client';

interface Email {
  to: string;
  template: string;
}

const address = process.env.CORAMQ_ADDRESS ?? 'localhost:50051';
const queue = process.env.CORAMQ_QUEUE ?? 'emails';
const client = new CoraMQClient(address, { token: process.env.CORAMQ_TOKEN });

async function sendEmail(email: Email): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10)); // stands in for the mail provider's API
  if (!email.to.includes('@')) throw new Error(`bad address ${email.to}`);
}

const worker = client.consume(
  queue,
  async (message: ReceivedMessage) => {
    const email = message.json<Email>();
    await sendEmail(email);
    console.log(`sent ${email.template} to ${email.to} (${message.id}, delivery ${message.deliveryCount})`);
  },
  { concurrency: 8 },
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: finishing the emails under way`);
    client.close().then(
      () => console.log('stopped'),
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  });
}

worker.done.catch((err: unknown) => {
  console.error('the worker stopped:', err);
  process.exitCode = 1;
});
