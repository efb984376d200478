// What the transport allows the client, apart from the server's own work: the shared workload's
// E and D shapes (64 single-message calls outstanding; 64 unacked deliveries, each acked on its
// own) against a grpc-js server that does nothing but answer, with the calls coalesced the way
// @coramq/client coalesces them (one batch per turn of the event loop), sent two ways:
//
//   unary   one EnqueueBatch / AckBatch call per batch (what the contract has today)
//   stream  the same EnqueueBatchRequest / AckBatchRequest messages as frames of one
//           bidirectional stream, answered in order (a what-if: an additive streaming RPC)
//
// Prints msg/s and CPU per message of each side (median of RUNS runs) and the stream/unary ratio.
//   make build && node bench/transport.mjs        env: N=200000 RUNS=3
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const ROOT = new URL('..', import.meta.url).pathname;
const require = createRequire(`${ROOT}/package.json`);
const grpc = require('@grpc/grpc-js');
const { QueueServiceService: S } = require(`${ROOT}/dist/generated/coramq/v1/queue.js`);
const N = Number(process.env.N ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 3);
const W = 64;
const PAYLOAD = Buffer.alloc(256, 7);

const bidi = (path, like) => ({
  path: `/coramq.v1.QueueService/${path}`, requestStream: true, responseStream: true,
  requestSerialize: like.requestSerialize, requestDeserialize: like.requestDeserialize,
  responseSerialize: like.responseSerialize, responseDeserialize: like.responseDeserialize,
});
const SERVICE = { enqueueBatch: S.enqueueBatch, ackBatch: S.ackBatch, dequeue: S.dequeue, enqueueStream: bidi('EnqueueStream', S.enqueueBatch), ackStream: bidi('AckStream', S.ackBatch) };

function nullServer(port) {
  const server = new grpc.Server();
  let n = 0;
  const answerEnqueue = (req) => ({ results: req.messages.map(() => ({ id: (n++).toString(36).padStart(26, '0'), duplicate: false, error: undefined })) });
  const answerAck = (req) => ({ results: req.entries.map((e) => ({ id: e.id, error: undefined })) });
  // D: deliveries with at most W unacked, as frames made once per turn.
  const ts = (ms) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  let stream = null, credit = 0, sent = 0, scheduled = false;
  const pump = () => {
    scheduled = false;
    const messages = [];
    while (stream && credit > 0 && sent < N) {
      credit--;
      messages.push({ id: `m${sent++}`, queue: 'bench', payload: PAYLOAD, priority: 0, attributes: {}, enqueuedAt: ts(Date.now()), deliveryCount: 1, visibleAt: ts(Date.now() + 30_000), receipt: 'ySxPzGl8_FI31ExwIHoaqg' });
    }
    if (messages.length > 0) stream.write({ messages });
  };
  const acked = (k) => {
    credit += k;
    if (!scheduled) (scheduled = true), setImmediate(pump);
  };
  const answerStream = (answer, after = () => {}) => (call) => {
    call.on('data', (req) => (after(req), call.write(answer(req))));
    call.on('end', () => call.end());
  };
  server.addService(SERVICE, {
    enqueueBatch: (call, cb) => cb(null, answerEnqueue(call.request)),
    ackBatch: (call, cb) => (acked(call.request.entries.length), cb(null, answerAck(call.request))),
    dequeue: (call) => {
      (stream = call), (credit = W), (sent = 0), pump();
      call.on('cancelled', () => (stream = null));
    },
    enqueueStream: answerStream(answerEnqueue),
    ackStream: answerStream(answerAck, (req) => acked(req.entries.length)),
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), () => process.send?.('up'));
}

/** Batches items per turn and sends each batch one way; `answered(batch, results)` settles them. */
function coalescer(sendBatch) {
  let pending = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    sendBatch(batch);
  };
  return (item) => {
    pending.push(item);
    if (!scheduled) (scheduled = true), setImmediate(flush);
  };
}

function sender(client, mode, unary, streamMethod, toRequest) {
  if (mode === 'unary') return coalescer((batch) => client[unary](toRequest(batch), (err, res) => batch.forEach((x, i) => x.resolve(res.results[i]))));
  const stream = client[streamMethod]();
  const inflight = [];
  stream.on('data', (res) => inflight.shift().forEach((x, i) => x.resolve(res.results[i])));
  stream.on('error', () => {});
  return Object.assign(coalescer((batch) => (inflight.push(batch), stream.write(toRequest(batch)))), { end: () => stream.end() });
}

async function phaseE(client, mode) {
  const send = sender(client, mode, 'enqueueBatch', 'enqueueStream', (batch) => ({ queue: 'bench', messages: batch }));
  let next = 0;
  await Promise.all(Array.from({ length: W }, async () => {
    while (next++ < N) await new Promise((resolve) => send({ id: '', payload: PAYLOAD, priority: next % 10, delay: undefined, attributes: {}, resolve }));
  }));
  send.end?.();
}

async function phaseD(client, mode) {
  const ack = sender(client, mode, 'ackBatch', 'ackStream', (batch) => ({ queue: 'bench', entries: batch }));
  let done = 0;
  await new Promise((finish) => {
    const call = client.dequeue({ queue: 'bench', maxMessages: 0, waitTime: undefined, visibilityTimeout: undefined, maxInFlight: W });
    call.on('data', ({ messages }) => {
      for (const m of messages) new Promise((resolve) => ack({ id: m.id, receipt: m.receipt, resolve })).then(() => ++done === N && (call.cancel(), finish()));
    });
    call.on('error', () => {});
  });
  ack.end?.();
}

if (process.argv[2] === 'serve') nullServer(Number(process.argv[3]));
else {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'serve', String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  const serverCpu = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const r = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(r[11]) + Number(r[12])) / 100;
  };
  const Client = grpc.makeGenericClientConstructor(SERVICE);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`transport ceiling: ${N} messages of 256 B, ${W} outstanding, a server that does nothing; median of ${RUNS} runs\n`);
  console.log('| phase | acks/enqueues sent as | msg/s | client µs/msg | server µs/msg |');
  console.log('|---|---|--:|--:|--:|');
  const rates = {};
  for (const [phase, run] of [['E', phaseE], ['D', phaseD]]) {
    for (const mode of ['unary', 'stream']) {
      const rows = [];
      for (let i = 0; i < RUNS; i++) {
        const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
        await new Promise((resolve) => client.waitForReady(Date.now() + 10_000, resolve));
        const t0 = performance.now(), c0 = process.cpuUsage(), s0 = serverCpu();
        await run(client, mode);
        const ms = performance.now() - t0, c = process.cpuUsage(c0);
        rows.push({ rate: N / (ms / 1000), cli: (c.user + c.system) / N, srv: ((serverCpu() - s0) * 1e6) / N });
        client.close();
      }
      rates[`${phase}${mode}`] = median(rows.map((r) => r.rate));
      const how = mode === 'unary' ? (phase === 'E' ? 'unary EnqueueBatch per batch' : 'unary AckBatch per batch') : 'frames of one bidi stream';
      console.log(`| ${phase} | ${how} | ${Math.round(rates[`${phase}${mode}`]).toLocaleString('en')} | ${median(rows.map((r) => r.cli)).toFixed(2)} | ${median(rows.map((r) => r.srv)).toFixed(2)} |`);
    }
  }
  console.log(`\nstream / unary: E ${(rates.Estream / rates.Eunary).toFixed(2)}×, D ${(rates.Dstream / rates.Dunary).toFixed(2)}×`);
  child.kill();
}
