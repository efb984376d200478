/**
 * Crash test through real processes: `coramq serve` (the built dist/) as a child process on
 * one data directory, a load generator enqueuing, dequeuing and acking against it, and
 * SIGKILL at a random moment, 20 times. After each restart (and during the load):
 * - every enqueue that was confirmed is present, or was acked;
 * - no message whose ack was confirmed is delivered again;
 * - nothing is delivered that was never sent, and every payload is the one sent.
 * The rounds cycle through --fsync always, interval and never: each confirms a change only
 * once the OS has it, which is what survives the death of the process.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { QueueServiceClient, type AckBatchResponse, type DequeueResponse, type EnqueueBatchResponse, type GetQueueResponse } from '../../../generated/coramq/v1/queue';
import { requireBuiltCli, spawnServer, type ServerProcess } from '../../support/cli-server';
import { prng } from '../../support/prng';
import { tempDir } from '../../support/wal';

const ROUNDS = 20;
const QUEUE = 'crash';

const unary = <Req, Res>(fn: (req: Req, md: Metadata, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => fn(req, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));

beforeAll(requireBuiltCli);

test(`SIGKILL at random moments, ${ROUNDS} times: nothing confirmed is lost, no confirmed ack comes back, nothing is invented`, async () => {
  const seed = Date.now() % 1_000_000;
  const random = prng(seed);
  const dir = tempDir('coramq-crash-');
  const sent = new Set<string>();
  const confirmed = new Set<string>();
  const ackSent = new Set<string>();
  const ackConfirmed = new Set<string>();
  const violations: string[] = [];
  let next = 0;
  let server: ServerProcess | null = null;

  const check = (m: { id: string; payload: Buffer }, when: string): void => {
    if (!sent.has(m.id)) violations.push(`${when}: ${m.id} was never sent`);
    else if (m.payload.toString() !== `payload of ${m.id}`) violations.push(`${when}: ${m.id} has a payload that was not sent`);
    if (ackConfirmed.has(m.id)) violations.push(`${when}: ${m.id} was delivered again after its ack was confirmed`);
  };
  const ack = (client: QueueServiceClient, id: string, receipt: string): void => {
    ackSent.add(id);
    client.ack({ queue: QUEUE, id, receipt }, (err) => {
      if (err === null) ackConfirmed.add(id);
    });
  };

  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const fsync = ['always', 'interval', 'never'][round % 3];
      server = spawnServer(['--data-dir', dir, '--fsync', fsync, '--fsync-interval', '20ms', '--wal-segment-size', '1MiB', '--max-queues', '100', '--log-level', 'info']);
      const client = new QueueServiceClient(await server.listening, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      await unary(client.createQueue.bind(client), { name: QUEUE, config: { visibilityTimeout: { seconds: 30, nanos: 0 }, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 0 } }).catch(
        (e: ServiceError) => expect(e.code).toBe(status.ALREADY_EXISTS),
      );

      // After a restart: everything confirmed and not acked is there (in flight came back
      // ready). A Dequeue with wait_time 0 takes what is ready now; under backpressure that
      // may be a part, so read until the queue has nothing ready.
      const present = new Map<string, string>();
      for (let taken = -1; taken !== 0; ) {
        taken = 0;
        await new Promise<void>((resolve, reject) => {
          const call = client.dequeue({ queue: QUEUE, maxMessages: 0, waitTime: { seconds: 0, nanos: 0 }, visibilityTimeout: undefined, maxInFlight: 10_000 });
          call.on('data', (r: DequeueResponse) =>
            r.messages.forEach((m) => {
              taken++;
              present.set(m.id, m.receipt);
              check(m, `after restart ${round}`);
            }),
          );
          call.on('end', resolve);
          call.on('error', reject);
        });
      }
      const { queue: stats } = await unary(client.getQueue.bind(client), { name: QUEUE }) as GetQueueResponse;
      expect([stats?.stats?.ready, stats?.stats?.inFlight]).toEqual([0, present.size]);
      for (const id of confirmed) {
        if (!ackSent.has(id) && !present.has(id)) violations.push(`after restart ${round}: confirmed ${id} is missing`);
      }
      expect(violations).toEqual([]);
      const entries = [...present].map(([id, receipt]) => ({ id, receipt, queue: '' }));
      for (let i = 0; i < entries.length; i += 1000) {
        const res = (await unary(client.ackBatch.bind(client), { queue: QUEUE, entries: entries.slice(i, i + 1000) })) as AckBatchResponse;
        for (const r of res.results) {
          ackSent.add(r.id);
          if (r.error === undefined) ackConfirmed.add(r.id);
        }
      }
      if (round === ROUNDS) {
        server.child.kill('SIGTERM');
        expect((await server.exited).code).toBe(0);
        break;
      }

      // Load: 16 enqueues in flight (some as batches), a consumer acking 90% of what it gets.
      let running = true;
      const producer = async (): Promise<void> => {
        while (running) {
          const batch = random() < 0.2;
          const ids = Array.from({ length: batch ? 20 : 1 }, () => `m-${next++}`);
          ids.forEach((id) => sent.add(id));
          const entry = (id: string) => ({ id, payload: Buffer.from(`payload of ${id}`), priority: Number(id.slice(2)) % 5, delay: undefined, attributes: {}, queue: '' });
          try {
            if (batch) {
              const res = (await unary(client.enqueueBatch.bind(client), { queue: QUEUE, messages: ids.map(entry) })) as EnqueueBatchResponse;
              res.results.forEach((r, i) => r.error === undefined && confirmed.add(ids[i]));
            } else {
              await unary(client.enqueue.bind(client), { ...entry(ids[0]), queue: QUEUE });
              confirmed.add(ids[0]);
            }
          } catch {
            return; // the server is gone
          }
        }
      };
      const call = client.dequeue({ queue: QUEUE, maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: 50 });
      call.on('data', (r: DequeueResponse) => {
        for (const m of r.messages) {
          check(m, `round ${round}`);
          if (random() < 0.9) ack(client, m.id, m.receipt);
        }
      });
      call.on('error', () => {});
      const producers = Array.from({ length: 16 }, producer);
      await new Promise((r) => setTimeout(r, 100 + random() * 500));
      server.child.kill('SIGKILL');
      expect((await server.exited).signal).toBe('SIGKILL');
      running = false;
      await Promise.all(producers);
      call.cancel();
      client.close();
      expect(violations).toEqual([]);
    }
  } catch (err) {
    throw new Error(`crash test failed (seed ${seed}): ${(err as Error).message}`);
  } finally {
    if (server !== null && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
  // The load did real work: many enqueues confirmed and acked, across every round.
  expect(confirmed.size).toBeGreaterThan(ROUNDS * 50);
  expect(ackConfirmed.size).toBeGreaterThan(ROUNDS * 20);
}, 120_000);
