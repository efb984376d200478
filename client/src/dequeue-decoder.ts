/**
 * A hand-written decoder for DequeueResponse, the message a consumer receives most. It reads
 * the wire format straight into what a ReceivedMessage keeps, a Delivery (times as ms since
 * the epoch: no Timestamp objects, no wire Message object), and hands each delivery to
 * `make`, which builds the object the stream delivers. Unknown fields are skipped as protobuf
 * requires (so a newer server's additions are ignored, not fatal).
 *
 * Ensures: for every input it reads what the generated `DequeueResponse.decode` reads, each
 * message mapped to a Delivery (a Timestamp to ms by timestampMs, an absent one to 0), or
 * throws where that throws (the reader, src/wire/proto-reader.ts, reads as the generated code
 * does), with one difference: an attribute named `__proto__` is kept as data.
 * client/test/dequeue-decoder.test.ts checks this with random messages and random bytes.
 *
 * What it saves per delivery: messages without attributes share one frozen empty object; a
 * queue name the same as the previous delivery's (a frame's deliveries are usually of one
 * queue) is the same string, not a new one. Each delivery's record is fresh and short-lived
 * (`make` copies it into what it builds): measured faster than one record reused for every
 * delivery, which lives in the old generation, so every field written into it costs a write
 * barrier. Payloads are copies, so a message kept does not keep its frame alive.
 */
import { ProtoReader, readStringMapEntry } from '../../src/wire/proto-reader';
import { NO_ATTRIBUTES, secondsNanosMs } from './convert';

/** One delivery, as a ReceivedMessage keeps it. */
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

const EMPTY = Buffer.alloc(0);

/** A copy of `view` (from Node's Buffer pool for small payloads). */
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

/** Decodes the DequeueResponse frames of one stream into what `make` builds of each delivery. */
export class DequeueDecoder<T> {
  /** The last queue name read, and a copy of its bytes. */
  private queue = '';
  private queueBytes: Buffer = EMPTY;

  constructor(private readonly make: (d: Delivery) => T) {}

  /** Reads one frame (what grpc-js hands a response deserializer): what `make` made of each delivery, in order. */
  readonly decode = (buf: Buffer): T[] => {
    const r = new ProtoReader(buf, 'DequeueResponse');
    const out: T[] = [];
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 10) out.push(this.make(this.readMessage(r, r.fieldEnd())));
      else if (!r.skipField(tag)) break;
    }
    return out;
  };

  private readMessage(r: ProtoReader, end: number): Delivery {
    let id = '';
    let queue = '';
    let payload: Buffer = EMPTY;
    let priority = 0;
    let attributes: Record<string, string> | null = null;
    let enqueuedAt = 0;
    let deliveryCount = 0;
    let visibleAt = 0;
    let receipt = '';
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case 10:
          id = r.string();
          continue;
        case 18:
          queue = this.readQueue(r);
          continue;
        case 26:
          payload = copyOf(r.bytes()); // a copy: the frame's buffer is not kept alive
          continue;
        case 32:
          priority = r.int32();
          continue;
        case 42:
          readStringMapEntry(r, r.fieldEnd(), (attributes ??= {}));
          continue;
        case 50:
          enqueuedAt = readTimestampMs(r, r.fieldEnd());
          continue;
        case 56:
          deliveryCount = r.uint32();
          continue;
        case 66:
          visibleAt = readTimestampMs(r, r.fieldEnd());
          continue;
        case 74:
          receipt = r.string();
          continue;
      }
      if (!r.skipField(tag)) break;
    }
    return { id, queue, payload, priority, attributes: attributes ?? NO_ATTRIBUTES, enqueuedAt, deliveryCount, visibleAt, receipt };
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
