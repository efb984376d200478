// CoraMQ through its client package (@coramq/client, built in client/dist), used the way a
// person would: E = one `enqueue` call per message (the client coalesces calls made close
// together into batches on its EnqueueStream), the batch row = `enqueueBatch` of 64; D/L =
// `subscribe` with maxInFlight = window, each message acked on its own with `message.ack()` as
// it arrives (the client coalesces acks into batches on its AckStream). bench/run-peers.sh
// copies this file into a scratch copy of the harness as systems/coramq-client.mjs and makes
// the storage variants (coramq-client-always, ...) from `coramqClient(serverArgs)`.
import { createRequire } from 'node:module';
import { coramq } from './coramq.mjs';

const ROOT = process.env.CORAMQ_ROOT;
if (!ROOT) throw new Error('CORAMQ_ROOT must point at the CoraMQ checkout (bench/run-peers.sh sets it)');
const { CoraMQClient } = await import(`${ROOT}/client/dist/esm/index.mjs`);
const version = createRequire(`${ROOT}/package.json`)(`${ROOT}/client/package.json`).version;
const QUEUE = 'bench';

// Separate connections for the producer and the consumer, as every other row has.
const connect = (port) => new CoraMQClient(`127.0.0.1:${port}`);

/** The adapter for a server started with `serverArgs` (a string of options), as coramq(). */
export function coramqClient(serverArgs) {
  const server = coramq(serverArgs);
  return {
  priorities: true,
  producerHasBatch: true,
  clients: [],
  notes: [`@coramq/client ${version} (${serverArgs}): one enqueue() per message (coalesced by the client into batches on EnqueueStream), subscribe() + message.ack() per message (coalesced into batches on AckStream); batch row uses enqueueBatch`],

  start: (dir, opts) => server.start(dir, opts),

  async producer({ port }) {
    const client = connect(port);
    await client.ready(); // connected in setup, before the clock starts (WORKLOAD.md phase 0)
    return {
      send: (m) => client.enqueue(QUEUE, m.payload, { priority: m.prio }),
      async sendBatch(msgs) {
        const res = await client.enqueueBatch(QUEUE, msgs.map((m) => ({ payload: m.payload, priority: m.prio })));
        const failed = res.find((r) => !r.ok);
        if (failed) throw failed.error;
      },
      async depth() {
        const { stats } = await client.getQueue(QUEUE);
        return stats.ready + stats.delayed + stats.inFlight;
      },
      close: () => client.close(),
    };
  },

  async consumer({ port }, { window, onMessage, onAcked }) {
    const client = connect(port);
    await client.ready(); // connected before the clock starts
    let sub;
    let loop;
    return {
      start() {
        sub = client.subscribe(QUEUE, { maxInFlight: window });
        loop = (async () => {
          for await (const m of sub) {
            onMessage(m.payload);
            m.ack().then(onAcked, () => {});
          }
        })();
      },
      async close() {
        await sub?.close();
        await loop;
        await client.close();
      },
    };
  },
  };
}

export default coramqClient(process.env.CORAMQ_SERVER_ARGS ?? '--storage memory');
