/**
 * The DequeueResponse a Dequeue stream is filling. Each delivery is encoded as one `messages`
 * entry the moment the engine makes it, straight from the engine's view of the message (no
 * wire object, no Timestamp objects, no second pass), into scratch space the stream keeps;
 * `take()` hands out the frame's bytes in a buffer of their own, since grpc-js may hold a
 * written frame until the socket takes it. grpc-js sends those bytes as they are
 * (`dequeueFrameSerializer` is Dequeue's response serializer in server.ts).
 *
 * Ensures: a frame's bytes are exactly the generated `DequeueResponse.encode` of its
 * deliveries' wire form (test/server/delivery-frame.test.ts holds it to that with random
 * messages): fields in number order, defaults left out, attributes in insertion order,
 * times as Timestamps of whole milliseconds.
 */
import type { DeliveredMessage } from '../engine/message';
import { fieldSize, msTimestampSize, ProtoWriter, signedSize, stringMapSize, stringMapSizes, stringSize, utf8Length, varintSize } from '../wire/proto-writer';

/** Scratch space a stream starts with; kept across frames unless a frame grew it past SCRATCH_KEEP. */
const SCRATCH_START = 4 * 1024;
const SCRATCH_KEEP = 64 * 1024;

export class DeliveryFrame {
  private out: ProtoWriter | null = null;
  /** Deliveries in the frame. */
  count = 0;
  /** The last queue name seen and its UTF-8 length (a stream serves one queue). */
  private queue = '';
  private queueBytes = 0;

  /** Bytes of the frame so far. */
  get bytes(): number {
    return this.out === null ? 0 : this.out.pos;
  }

  /** Appends `m` as it is now (its receipt and lease end are this delivery's). */
  add(m: DeliveredMessage): void {
    const { id, payload, priority, attributes, enqueuedAt, deliveryCount, visibleAt, receipt } = m;
    if (m.queueName !== this.queue) {
      this.queue = m.queueName;
      this.queueBytes = utf8Length(this.queue);
    }
    // Ids and receipts are ASCII (ProtoWriter.ascii): their length is their UTF-8 length.
    const idBytes = id.length;
    const receiptBytes = receipt.length;
    const attributeSizes = stringMapSizes(attributes);
    const enqueuedAtBytes = msTimestampSize(enqueuedAt);
    const visibleAtBytes = msTimestampSize(visibleAt);
    const body =
      stringSize(idBytes) +
      stringSize(this.queueBytes) +
      (payload.length > 0 ? fieldSize(payload.length) : 0) +
      (priority !== 0 ? 1 + signedSize(priority) : 0) +
      stringMapSize(attributeSizes) +
      fieldSize(enqueuedAtBytes) +
      (deliveryCount !== 0 ? 1 + varintSize(deliveryCount) : 0) +
      fieldSize(visibleAtBytes) +
      stringSize(receiptBytes);

    const out = (this.out ??= new ProtoWriter(SCRATCH_START));
    out.reserve(fieldSize(body));
    const start = out.pos;
    try {
      out.byte(10);
      out.varint(body);
      out.ascii(10, id);
      out.string(18, this.queue, this.queueBytes);
      out.bytes(26, payload);
      if (priority !== 0) {
        out.byte(32);
        out.signed(priority);
      }
      out.stringMap(42, attributes, attributeSizes);
      out.msTimestamp(50, enqueuedAt, enqueuedAtBytes);
      if (deliveryCount !== 0) {
        out.byte(56);
        out.varint(deliveryCount);
      }
      out.msTimestamp(66, visibleAt, visibleAtBytes);
      out.ascii(74, receipt);
    } catch (err) {
      out.pos = start; // an id or receipt that is not ASCII: the frame stays as it was
      throw err;
    }
    this.count++;
  }

  /** The frame's bytes (a DequeueResponse); the next add() starts a new frame. */
  take(): Buffer {
    const out = this.out;
    if (out === null) return Buffer.alloc(0);
    const frame = out.take();
    this.clear();
    return frame;
  }

  /** Drops what the frame holds. */
  clear(): void {
    this.count = 0;
    if (this.out === null) return;
    this.out.pos = 0;
    if (this.out.buf.length > SCRATCH_KEEP) this.out = null; // one large frame does not pin its scratch
  }
}

/** Dequeue's response serializer: frames are encoded already. */
export const dequeueFrameSerializer = (frame: Buffer): Buffer => frame;
