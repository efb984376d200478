// CoraMQ adapter for the shared peers harness (../shared/peers/WORKLOAD.md), one message per
// RPC through the generated stubs: E = unary Enqueue, D/L = one Dequeue stream with
// max_in_flight = window, each message acked with a unary Ack as it arrives.
// bench/run-peers.sh copies this file into a scratch copy of the harness as systems/coramq.mjs.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { startProcess, stopProcess, freePort, tcpReady } from '../common.mjs';

const ROOT = process.env.CORAMQ_ROOT;
if (!ROOT) throw new Error('CORAMQ_ROOT must point at the CoraMQ checkout (bench/run-peers.sh sets it)');
const require = createRequire(`${ROOT}/package.json`);
const grpc = require('@grpc/grpc-js');
const { QueueServiceClient } = require(`${ROOT}/dist/generated/coramq/v1/queue.js`);
const QUEUE = 'bench';
/**
 * Node flags for the server: the ones it is meant to run with (src/server/node-flags.ts), then
 * any extra (e.g. --cpu-prof --cpu-prof-dir=DIR, --trace-gc) from env CORAMQ_NODE_ARGS.
 */
const NODE_ARGS = require(`${ROOT}/dist/src/server/node-flags.js`).serverNodeArgs();

const client = async (port) => {
  const c = new QueueServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  await promisify(c.waitForReady.bind(c))(Date.now() + 10_000);
  return c;
};

/**
 * The adapter for a server started with `serverArgs` (a string of options). bench/run-peers.sh
 * makes one system per variant (coramq-memory, coramq-always, ...) from this, so several
 * variants are measured side by side in one run.
 */
export function coramq(serverArgs) {
  const STORAGE_ARGS = serverArgs.split(' ').filter(Boolean);
  return {
  priorities: true,
  producerHasBatch: true,
  clients: [],
  notes: [`coramq ${STORAGE_ARGS.join(' ')}: generated stubs, one message per Enqueue/Ack RPC; batch row uses EnqueueBatch`],

  async start(dir) {
    const port = await freePort();
    const child = startProcess(process.execPath, [...NODE_ARGS, `${ROOT}/dist/src/cli.js`, 'serve', '--port', String(port), '--log-level', 'warn', '--data-dir', `${dir}/data`, ...STORAGE_ARGS], { logFile: `${dir}/server.log` });
    await tcpReady(port);
    const c = await client(port);
    await promisify(c.createQueue.bind(c))({ name: QUEUE, config: { visibilityTimeout: { seconds: 30, nanos: 0 }, maxDeliveries: 0, deadLetterQueue: '', maxDepth: 0 } });
    c.close();
    return { port, pid: child.pid, stop: () => stopProcess(child), versions: { server: `coramq ${require(`${ROOT}/package.json`).version} on node ${process.version}` } };
  },

  async producer({ port }) {
    const c = await client(port);
    const enqueue = promisify(c.enqueue.bind(c));
    const enqueueBatch = promisify(c.enqueueBatch.bind(c));
    const getQueue = promisify(c.getQueue.bind(c));
    const entry = (m) => ({ id: '', payload: m.payload, priority: m.prio, delay: undefined, attributes: {} });
    return {
      send: (m) => enqueue({ queue: QUEUE, ...entry(m) }),
      async sendBatch(msgs) {
        const res = await enqueueBatch({ queue: QUEUE, messages: msgs.map(entry) });
        const failed = res.results.find((r) => r.error);
        if (failed) throw new Error(failed.error.message);
      },
      async depth() {
        const { queue } = await getQueue({ name: QUEUE });
        return queue.stats.ready + queue.stats.delayed + queue.stats.inFlight;
      },
      close: async () => c.close(),
    };
  },

  async consumer({ port }, { window, onMessage, onAcked }) {
    const c = await client(port);
    let call;
    return {
      start() {
        call = c.dequeue({ queue: QUEUE, maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: window });
        call.on('data', ({ messages }) => {
          for (const m of messages) {
            onMessage(m.payload);
            c.ack({ queue: QUEUE, id: m.id, receipt: m.receipt }, (err) => {
              if (!err) onAcked();
            });
          }
        });
        call.on('error', () => {});
      },
      async close() {
        call?.cancel();
        c.close();
      },
    };
  },
  };
}

export default coramq(process.env.CORAMQ_SERVER_ARGS ?? '--storage memory');
