/**
 * The hand-written codecs of the batch calls against the generated ones, in process: CPU per
 * message (one batch entry or result) to decode or encode the frames of the shared workload's
 * E and D phases through the client package (batches of 32 messages of 256 bytes,
 * priorities 0-9, server-made ids, acks with receipts). Prints ns per message and the
 * generated/hand ratio; asserts nothing.
 *
 *   node dist/bench/wire-codecs.js [--batch 32] [--messages 2000000] [--runs 5]
 */
import { parseArgs } from 'node:util';
import {
  AckStreamRequest,
  AckStreamResponse,
  DequeueResponse,
  EnqueueStreamRequest,
  EnqueueStreamResponse,
  type Message,
} from '../generated/coramq/v1/queue';
import { decodeAckStreamResponse, decodeEnqueueStreamResponse } from '../client/src/batch-decoders';
import { encodeAckBatch, encodeEnqueueBatch } from '../client/src/batch-encoders';
import { decodeDequeueResponse } from '../client/src/dequeue-decoder';
import { decodeAckStreamRequest, decodeEnqueueStreamRequest, encodeAckResults, encodeEnqueueResults } from '../src/server/batch-codecs';
import { DeliveryFrame } from '../src/server/delivery-frame';
import { toTimestamp } from '../src/server/convert';
import { NO_ATTRIBUTES, type DeliveredMessage } from '../src/engine/message';
import { newReceipt, ServerIds } from '../src/ids';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '32' }, messages: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '5' } },
});
const BATCH = Number(values.batch);
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);

const ids = new ServerIds();
const now = Date.now();
const messages = Array.from({ length: BATCH }, (_, i) => ({ id: ids.make(now, i + 1, i), receipt: newReceipt(), priority: i % 10 }));
const payload = Buffer.alloc(256, 'x');

const enqueueRequest = { queue: 'bench', messages: messages.map((m) => ({ id: '', payload, priority: m.priority, delay: undefined, attributes: {}, queue: '' })) };
const enqueueResponse = { results: messages.map((m) => ({ id: m.id, duplicate: false, error: undefined })), error: undefined };
const ackRequest = { queue: 'bench', entries: messages.map((m) => ({ id: m.id, receipt: m.receipt, queue: '' })) };
const ackResponse = { results: messages.map((m) => ({ id: m.id, error: undefined })), error: undefined };
const delivery = (m: (typeof messages)[number]): Message => ({
  id: m.id,
  queue: 'bench',
  payload,
  priority: m.priority,
  attributes: {},
  enqueuedAt: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
  deliveryCount: 1,
  visibleAt: { seconds: Math.floor(now / 1000) + 30, nanos: (now % 1000) * 1e6 },
  receipt: m.receipt,
});
// The server sends deliveries in frames of a few messages (maxInFlight 64, acks trickling back).
const dequeueResponse = { messages: messages.slice(0, 4).map(delivery) };
// What the server encodes them from: the engine's view of each delivery (times in ms).
const deliveries: DeliveredMessage[] = dequeueResponse.messages.map((m, i) => ({
  id: m.id,
  seq: i + 1,
  queueName: m.queue,
  payload,
  priority: m.priority,
  attributes: NO_ATTRIBUTES,
  enqueuedAt: now,
  deliveryCount: 1,
  visibleAt: now + 30_000,
  receipt: m.receipt,
}));
/** The server's path before delivery-frame.ts: a wire object per delivery, then the generated encoder. */
const toWire = (d: DeliveredMessage): Message => ({
  id: d.id,
  queue: d.queueName,
  payload: d.payload as Buffer,
  priority: d.priority,
  attributes: d.attributes as Record<string, string>,
  enqueuedAt: toTimestamp(d.enqueuedAt),
  deliveryCount: d.deliveryCount,
  visibleAt: toTimestamp(d.visibleAt),
  receipt: d.receipt,
});
const frame = new DeliveryFrame();
const encodeFrame = (): Buffer => {
  for (const d of deliveries) frame.add(d);
  return frame.take();
};

const bytesOf = (b: Uint8Array): Buffer => Buffer.from(b);
let sink = 0;

/** ns per message of `fn` over `frame` (which carries `perFrame` messages): the median of RUNS runs. */
function time(fn: () => unknown, perFrame: number): number {
  const frames = Math.max(1, Math.floor(MESSAGES / perFrame));
  for (let i = 0; i < Math.min(frames, 20_000); i++) sink ^= (fn() as { length?: number }).length ?? 1; // warm up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < frames; i++) sink ^= (fn() as { length?: number }).length ?? 1;
    runs.push(Number(process.hrtime.bigint() - start) / (frames * perFrame));
  }
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)];
}

interface Row {
  side: string;
  what: string;
  generated: () => unknown;
  hand: () => unknown;
  perFrame: number;
}

const enqueueRequestBytes = bytesOf(EnqueueStreamRequest.encode(enqueueRequest).finish());
const enqueueResponseBytes = bytesOf(EnqueueStreamResponse.encode(enqueueResponse).finish());
const ackRequestBytes = bytesOf(AckStreamRequest.encode(ackRequest).finish());
const ackResponseBytes = bytesOf(AckStreamResponse.encode(ackResponse).finish());
const dequeueBytes = bytesOf(DequeueResponse.encode(dequeueResponse).finish());

const rows: Row[] = [
  { side: 'client', what: 'encode EnqueueStreamRequest', generated: () => EnqueueStreamRequest.encode(enqueueRequest).finish(), hand: () => encodeEnqueueBatch(enqueueRequest), perFrame: BATCH },
  { side: 'server', what: 'decode EnqueueStreamRequest', generated: () => EnqueueStreamRequest.decode(enqueueRequestBytes), hand: () => decodeEnqueueStreamRequest(enqueueRequestBytes), perFrame: BATCH },
  { side: 'server', what: 'encode EnqueueStreamResponse', generated: () => EnqueueStreamResponse.encode(enqueueResponse).finish(), hand: () => encodeEnqueueResults(enqueueResponse), perFrame: BATCH },
  { side: 'client', what: 'decode EnqueueStreamResponse', generated: () => EnqueueStreamResponse.decode(enqueueResponseBytes), hand: () => decodeEnqueueStreamResponse(enqueueResponseBytes), perFrame: BATCH },
  { side: 'server', what: 'encode DequeueResponse (4)', generated: () => DequeueResponse.encode({ messages: deliveries.map(toWire) }).finish(), hand: encodeFrame, perFrame: 4 },
  { side: 'client', what: 'decode DequeueResponse (4)', generated: () => DequeueResponse.decode(dequeueBytes), hand: () => decodeDequeueResponse(dequeueBytes), perFrame: 4 },
  { side: 'client', what: 'encode AckStreamRequest', generated: () => AckStreamRequest.encode(ackRequest).finish(), hand: () => encodeAckBatch(ackRequest), perFrame: BATCH },
  { side: 'server', what: 'decode AckStreamRequest', generated: () => AckStreamRequest.decode(ackRequestBytes), hand: () => decodeAckStreamRequest(ackRequestBytes), perFrame: BATCH },
  { side: 'server', what: 'encode AckStreamResponse', generated: () => AckStreamResponse.encode(ackResponse).finish(), hand: () => encodeAckResults(ackResponse), perFrame: BATCH },
  { side: 'client', what: 'decode AckStreamResponse', generated: () => AckStreamResponse.decode(ackResponseBytes), hand: () => decodeAckStreamResponse(ackResponseBytes), perFrame: BATCH },
];

console.log(`Batch codecs, generated vs hand-written: ns of CPU per message (batches of ${BATCH}; median of ${RUNS} runs of ${MESSAGES.toLocaleString('en-US')} messages)`);
console.log(`${'side'.padEnd(7)} ${'message'.padEnd(30)} ${'generated'.padStart(9)} ${'hand'.padStart(7)} ${'ratio'.padStart(6)}`);
const totals = { server: [0, 0], client: [0, 0] } as Record<string, [number, number]>;
for (const row of rows) {
  const g = time(row.generated, row.perFrame);
  const h = time(row.hand, row.perFrame);
  totals[row.side][0] += g;
  totals[row.side][1] += h;
  console.log(`${row.side.padEnd(7)} ${row.what.padEnd(30)} ${g.toFixed(0).padStart(9)} ${h.toFixed(0).padStart(7)} ${(g / h).toFixed(1).padStart(5)}x`);
}
for (const [side, [g, h]] of Object.entries(totals)) {
  console.log(`${side.padEnd(7)} ${'all of the above'.padEnd(30)} ${g.toFixed(0).padStart(9)} ${h.toFixed(0).padStart(7)} ${(g / h).toFixed(1).padStart(5)}x`);
}
if (sink === 0.5) console.log(sink);
