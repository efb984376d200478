/**
 * A hand-written decoder for DequeueResponse, the message a consumer receives most. It reads
 * each delivery of a frame into a DeliveryView: the fields a consumer uses at once (queue,
 * priority, attributes, delivery count) as values, and where its id, receipt, payload and
 * times are in the frame's bytes. So a ReceivedMessage is one object while it is in flight,
 * not one plus a string for each of its id and receipt, a payload copy and two boxed times:
 * with thousands of messages in flight, those objects outlive young-generation collections,
 * and copying and promoting them is what made many consumer streams slow (bench/README.md).
 * The rest is read from the bytes when it is asked for (toDelivery, ReceivedMessage's getters).
 *
 * A view keeps the frame's bytes alive. A frame is kept only when it is at most
 * KEEP_FRAME_BYTES long; each delivery of a larger frame gets a copy of its own bytes, so a
 * message kept long never holds more than 64 KiB, or its own size, in memory.
 *
 * Ensures: for every input, toDelivery of each view is what the generated
 * `DequeueResponse.decode` reads, each message mapped to a Delivery (a Timestamp to ms by
 * timestampMs, an absent one to 0), or decode throws where that throws (the reader,
 * src/wire/proto-reader.ts, reads as the generated code does: every field is checked on the
 * first read, strings and times included), with one difference: an attribute named
 * `__proto__` is kept as data. client/test/dequeue-decoder.test.ts checks this with random
 * messages and random bytes.
 *
 * What else it saves per delivery: messages without attributes share one frozen empty object;
 * a queue name the same as the previous delivery's (a frame's deliveries are usually of one
 * queue) is the same string, not a new one. Each view is fresh and short-lived (`make` copies
 * it into what it builds): measured faster than one record reused for every delivery, which
 * lives in the old generation, so every field written into it costs a write barrier.
 */
import { ProtoReader, readStringMapEntry, utf8Text } from '../../src/wire/proto-reader';
import { NO_ATTRIBUTES, secondsNanosMs } from './convert';

/** One delivery with every field read: what toDelivery makes of a view. */
export interface Delivery {
  id: string;
  queue: string;
  payload: Buffer;
  priority: number;
  attributes: Readonly<Record<string, string>>;
  /** ms since the epoch; 0 when the server sent none. */
  enqueuedAt: number;
  deliveryCount: number;
  /** ms since the epoch; 0 when the server sent none. */
  visibleAt: number;
  receipt: string;
}

/**
 * One delivery as the decoder reads it: values, and [at, end) ranges of `bytes` for the rest.
 * A time's range is that of its Timestamp's body; -1 when the server sent none.
 */
export interface DeliveryView {
  bytes: Buffer;
  queue: string;
  priority: number;
  attributes: Readonly<Record<string, string>>;
  deliveryCount: number;
  idAt: number;
  idEnd: number;
  receiptAt: number;
  receiptEnd: number;
  payloadAt: number;
  payloadEnd: number;
  enqueuedAt: number;
  enqueuedEnd: number;
  visibleAt: number;
  visibleEnd: number;
}

/** Frames up to this size are kept by their deliveries; larger ones are copied per delivery. */
export const KEEP_FRAME_BYTES = 64 * 1024;

export const EMPTY = Buffer.alloc(0);

/** The payload in [at, end): a view of `bytes` (the one shared empty Buffer when empty). */
export const bytesAt = (bytes: Buffer, at: number, end: number): Buffer => (end === at ? EMPTY : bytes.subarray(at, end));

/** A copy of `view` (from Node's Buffer pool for small ones). */
function copyOf(view: Buffer): Buffer {
  if (view.length === 0) return EMPTY;
  const copy = Buffer.allocUnsafe(view.length);
  copy.set(view);
  return copy;
}

/** A Timestamp ending at `end`, as ms since the epoch (read as readSecondsNanos reads it). */
function readTimestampMs(r: ProtoReader, end: number): number {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 8) seconds = r.int64();
    else if (tag === 16) nanos = r.int32();
    else if (!r.skipField(tag)) break;
  }
  return secondsNanosMs(seconds, nanos);
}

/** The time whose Timestamp body is `bytes` in [at, end), as ms since the epoch; 0 when at is -1. */
export function timeAt(bytes: Buffer, at: number, end: number): number {
  if (at < 0) return 0;
  const r = new ProtoReader(bytes, 'Timestamp');
  r.pos = at;
  return readTimestampMs(r, end);
}

/** Every field of a view, read. */
export function toDelivery(v: DeliveryView): Delivery {
  return {
    id: utf8Text(v.bytes, v.idAt, v.idEnd),
    queue: v.queue,
    payload: bytesAt(v.bytes, v.payloadAt, v.payloadEnd),
    priority: v.priority,
    attributes: v.attributes,
    enqueuedAt: timeAt(v.bytes, v.enqueuedAt, v.enqueuedEnd),
    deliveryCount: v.deliveryCount,
    visibleAt: timeAt(v.bytes, v.visibleAt, v.visibleEnd),
    receipt: utf8Text(v.bytes, v.receiptAt, v.receiptEnd),
  };
}

/** Decodes the DequeueResponse frames of one stream into what `make` builds of each delivery. */
export class DequeueDecoder<T> {
  /** The last queue name read, and a copy of its bytes. */
  private queue = '';
  private queueBytes: Buffer = EMPTY;

  constructor(private readonly make: (d: DeliveryView) => T) {}

  /** Reads one frame (what grpc-js hands a response deserializer): what `make` made of each delivery, in order. */
  readonly decode = (buf: Buffer): T[] => {
    const r = new ProtoReader(buf, 'DequeueResponse');
    const keep = buf.length <= KEEP_FRAME_BYTES;
    const out: T[] = [];
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 10) out.push(this.make(this.readMessage(r, r.fieldEnd(), keep)));
      else if (!r.skipField(tag)) break;
    }
    return out;
  };

  /** One message; its ranges are in the frame when `keep`, else in a copy of [start, where its fields stopped). */
  private readMessage(r: ProtoReader, end: number, keep: boolean): DeliveryView {
    const start = r.pos;
    let queue = '';
    let priority = 0;
    let attributes: Record<string, string> | null = null;
    let deliveryCount = 0;
    let idAt = 0;
    let idEnd = 0;
    let receiptAt = 0;
    let receiptEnd = 0;
    let payloadAt = 0;
    let payloadEnd = 0;
    let enqueuedAt = -1;
    let enqueuedEnd = -1;
    let visibleAt = -1;
    let visibleEnd = -1;
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case 10:
          idEnd = r.delimited();
          idAt = r.pos;
          r.pos = idEnd;
          continue;
        case 18:
          queue = this.readQueue(r);
          continue;
        case 26:
          payloadEnd = r.delimited();
          payloadAt = r.pos;
          r.pos = payloadEnd;
          continue;
        case 32:
          priority = r.int32();
          continue;
        case 42:
          readStringMapEntry(r, r.fieldEnd(), (attributes ??= {}));
          continue;
        case 50:
          enqueuedEnd = r.fieldEnd();
          enqueuedAt = r.pos;
          readTimestampMs(r, enqueuedEnd); // checked now: a view never throws later
          enqueuedEnd = r.pos; // where the read stopped (a zero tag stops it early, as the generated decoder)
          continue;
        case 56:
          deliveryCount = r.uint32();
          continue;
        case 66:
          visibleEnd = r.fieldEnd();
          visibleAt = r.pos;
          readTimestampMs(r, visibleEnd);
          visibleEnd = r.pos;
          continue;
        case 74:
          receiptEnd = r.delimited();
          receiptAt = r.pos;
          r.pos = receiptEnd;
          continue;
      }
      if (!r.skipField(tag)) break;
    }
    let bytes = r.buf;
    if (!keep) {
      // Rebase every range onto a copy of this message's bytes.
      bytes = copyOf(r.buf.subarray(start, r.pos));
      idAt -= start;
      idEnd -= start;
      receiptAt -= start;
      receiptEnd -= start;
      payloadAt -= start;
      payloadEnd -= start;
      if (enqueuedAt >= 0) {
        enqueuedAt -= start;
        enqueuedEnd -= start;
      }
      if (visibleAt >= 0) {
        visibleAt -= start;
        visibleEnd -= start;
      }
    }
    return {
      bytes,
      queue,
      priority,
      attributes: attributes ?? NO_ATTRIBUTES,
      deliveryCount,
      idAt,
      idEnd,
      receiptAt,
      receiptEnd,
      payloadAt,
      payloadEnd,
      enqueuedAt,
      enqueuedEnd,
      visibleAt,
      visibleEnd,
    };
  }

  /** The queue name: the previous one when its bytes are the same, else read as r.string() reads it. */
  private readQueue(r: ProtoReader): string {
    const at = r.pos;
    const end = r.fieldEnd();
    const start = r.pos;
    const last = this.queueBytes;
    if (end <= r.len && end - start === last.length) {
      const buf = r.buf;
      let i = 0;
      while (i < last.length && buf[start + i] === last[i]) i++;
      if (i === last.length) {
        r.pos = end;
        return this.queue;
      }
    }
    r.pos = at;
    this.queue = r.string(); // throws where the field runs past the end
    this.queueBytes = copyOf(r.buf.subarray(start, r.pos));
    return this.queue;
  }
}
