/**
 * The hand-written codecs of the batch calls against the generated ones, in process: CPU per
 * message (one batch entry or result) to decode or encode the frames of the shared workload's
 * E and D phases through the client package (batches of 32 messages of 256 bytes,
 * priorities 0-9, server-made ids, acks with receipts). Prints ns per message and the
 * generated/hand ratio; asserts nothing.
 *
 * Then the client's consumer path per delivered message, as the client runs it: a Dequeue
 * frame of `--frame` deliveries decoded and each made a ReceivedMessage; then also acked with
 * `ack()` (a subscription's loop) or as a worker acks, the ack batch answered by a stand-in
 * for the connection (no encoding, no network). The last `--keep` messages stay referenced
 * (default 16,384: 256 streams of 64 in flight), so they live as long as unacked deliveries
 * do and the collector's cost is in the figure. ns of CPU per message (process.cpuUsage:
 * GC threads included; the median of `--runs`) and bytes of JS heap allocated per message
 * (garbage included: measured with the young generation emptied first, over runs too short
 * to trigger a collection; payload copies live off the heap, in Node's Buffer pool, and are
 * not counted).
 *
 *   node dist/bench/wire-codecs.js [--batch 32] [--frame 4] [--keep 16384] [--messages 2000000] [--runs 5]
 */
import { parseArgs } from 'node:util';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
import { DequeueDecoder, toDelivery } from '../client/src/dequeue-decoder';
import { Acker } from '../client/src/acker';
import { systemClock } from '../client/src/clock';
import type { Connection } from '../client/src/connection';
import { ReceivedMessage, type MessageContext } from '../client/src/received-message';
import { decodeAckStreamRequest, decodeEnqueueStreamRequest, encodeAckResults, encodeEnqueueResults } from '../src/server/batch-codecs';
import { DeliveryFrame } from '../src/server/delivery-frame';
import { toTimestamp } from '../src/server/convert';
import { NO_ATTRIBUTES, type DeliveredMessage } from '../src/engine/message';
import { issueReceipt, RECEIPT_WORDS, receiptText, ServerIds } from '../src/ids';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    frame: { type: 'string', default: '4' },
    keep: { type: 'string', default: '16384' },
    messages: { type: 'string', default: '2000000' },
    runs: { type: 'string', default: '5' },
  },
});
const BATCH = Number(values.batch);
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);

const ids = new ServerIds();
const now = Date.now();
const receipts = new Int32Array(BATCH * RECEIPT_WORDS);
const newReceipt = (slot: number): string => (issueReceipt(receipts, slot), receiptText(receipts, slot));
const messages = Array.from({ length: BATCH }, (_, i) => ({ id: ids.make(now, i + 1, i), receipt: newReceipt(i), priority: i % 10 }));
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
/** The client's Dequeue decoder, keeping the plain record of each delivery (the consumer path below makes ReceivedMessages). */
const records = new DequeueDecoder(toDelivery);

const rows: Row[] = [
  { side: 'client', what: 'encode EnqueueStreamRequest', generated: () => EnqueueStreamRequest.encode(enqueueRequest).finish(), hand: () => encodeEnqueueBatch(enqueueRequest), perFrame: BATCH },
  { side: 'server', what: 'decode EnqueueStreamRequest', generated: () => EnqueueStreamRequest.decode(enqueueRequestBytes), hand: () => decodeEnqueueStreamRequest(enqueueRequestBytes), perFrame: BATCH },
  { side: 'server', what: 'encode EnqueueStreamResponse', generated: () => EnqueueStreamResponse.encode(enqueueResponse).finish(), hand: () => encodeEnqueueResults(enqueueResponse), perFrame: BATCH },
  { side: 'client', what: 'decode EnqueueStreamResponse', generated: () => EnqueueStreamResponse.decode(enqueueResponseBytes), hand: () => decodeEnqueueStreamResponse(enqueueResponseBytes), perFrame: BATCH },
  { side: 'server', what: 'encode DequeueResponse (4)', generated: () => DequeueResponse.encode({ messages: deliveries.map(toWire) }).finish(), hand: encodeFrame, perFrame: 4 },
  { side: 'client', what: 'decode DequeueResponse (4)', generated: () => DequeueResponse.decode(dequeueBytes), hand: () => records.decode(dequeueBytes), perFrame: 4 },
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

// ---------- the consumer path per delivered message ----------

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const FRAME = Number(values.frame);
const frameBytes = bytesOf(DequeueResponse.encode({ messages: Array.from({ length: FRAME }, (_, i) => delivery(messages[i % BATCH])) }).finish());

/** A connection that answers every AckBatch call at once, every ack a success. */
const okResults = Array.from({ length: 1024 }, () => ({ id: '', error: undefined }));
const answeringConn = {
  unary: (_method: string, req: { entries: unknown[] }, _deadlineAt: number, _signal: unknown, done: (err: null, res: { results: unknown[] }) => void) =>
    done(null, { results: okResults.slice(0, req.entries.length) }),
} as unknown as Connection;
const acker = new Acker(answeringConn, { transport: 'unary', maxSize: 1024 }, systemClock);
const ctx: MessageContext = { conn: answeringConn, acker, deadline: 30_000 };
const workerDone = (): void => {};

const received = new DequeueDecoder((d) => new ReceivedMessage(ctx, d));
/** The last KEEP frames' messages, still referenced (a ring). */
const kept: ReceivedMessage[][] = new Array(Math.max(1, Math.ceil(Number(values.keep) / FRAME)));
let keptAt = 0;
const deliver = (): ReceivedMessage[] => {
  const ms = received.decode(frameBytes);
  kept[keptAt] = ms;
  keptAt = (keptAt + 1) % kept.length;
  return ms;
};
const consumerRows: { what: string; frame: () => unknown }[] = [
  { what: 'decode + ReceivedMessage', frame: deliver },
  {
    what: '... + ack() (a subscription)',
    frame: () => {
      const ms = deliver();
      for (const m of ms) void m.ack();
      acker.flush();
      return ms;
    },
  },
  {
    what: '... + ack as a worker does',
    frame: () => {
      const ms = deliver();
      for (const m of ms) m.ackThen(workerDone);
      acker.flush();
      return ms;
    },
  },
];

/**
 * Bytes of JS heap `frame` allocates per message: the median over runs of 1,024 messages, each
 * started after a full collection (a run that a scavenge cut short reads low, one where code
 * was compiled reads high; the median is neither).
 */
function allocated(frame: () => unknown): number {
  const frames = Math.max(1, Math.floor(1024 / FRAME));
  const runs: number[] = [];
  for (let r = 0; r < 15; r++) {
    gc();
    const before = getHeapStatistics().used_heap_size;
    for (let i = 0; i < frames; i++) sink ^= (frame() as { length?: number }).length ?? 1;
    runs.push((getHeapStatistics().used_heap_size - before) / (frames * FRAME));
  }
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)];
}

/** ns of CPU (this process, every thread) per message of `frame`: the median of RUNS runs. */
function cpuTime(frame: () => unknown): number {
  const frames = Math.max(1, Math.floor(MESSAGES / FRAME));
  for (let i = 0; i < Math.min(frames, 20_000); i++) sink ^= (frame() as { length?: number }).length ?? 1; // warm up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < frames; i++) sink ^= (frame() as { length?: number }).length ?? 1;
    const used = process.cpuUsage(start);
    runs.push(((used.user + used.system) * 1000) / (frames * FRAME));
  }
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)];
}

console.log(`\nThe client's consumer path: per delivered message (frames of ${FRAME} deliveries of 256 bytes, the last ${values.keep} kept; median of ${RUNS} runs)`);
console.log(`${'path'.padEnd(32)} ${'ns CPU'.padStart(6)} ${'heap B'.padStart(7)}`);
for (const row of consumerRows) {
  const ns = cpuTime(row.frame);
  console.log(`${row.what.padEnd(32)} ${ns.toFixed(0).padStart(6)} ${allocated(row.frame).toFixed(0).padStart(7)}`);
}
if (sink === 0.5) console.log(sink);
