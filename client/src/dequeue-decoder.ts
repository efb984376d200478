/**
 * A hand-written decoder for DequeueResponse, the message a consumer receives most: it reads
 * the wire format straight into the objects the generated decoder makes (same fields, same
 * defaults), without the generated code's per-call reader bookkeeping, and skips unknown
 * fields as protobuf requires (so a newer server's additions are ignored, not fatal).
 *
 * Ensures: for every input the result deep-equals the generated `DequeueResponse.decode`, or
 * both throw (the reader, src/wire/proto-reader.ts, reads as the generated code does), with
 * one difference: an attribute named `__proto__` is kept as data. Payloads are copies, so a
 * message kept does not keep its frame alive. client/test/dequeue-decoder.test.ts checks this
 * with random messages and random bytes.
 */
import type { DequeueResponse, Message } from '../../generated/coramq/v1/queue';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';
import { ProtoReader, readSecondsNanos, readStringMapEntry } from '../../src/wire/proto-reader';

/** Reads a DequeueResponse from `buf` (what grpc-js hands a response deserializer). */
export function decodeDequeueResponse(buf: Buffer): DequeueResponse {
  const r = new ProtoReader(buf, 'DequeueResponse');
  const messages: Message[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) messages.push(readMessage(r, r.fieldEnd()));
    else if (!r.skipField(tag)) break;
  }
  return { messages };
}

function readMessage(r: ProtoReader, end: number): Message {
  let id = '';
  let queue = '';
  let payload: Buffer | null = null;
  let priority = 0;
  const attributes: Record<string, string> = {};
  let enqueuedAt: Timestamp | undefined;
  let deliveryCount = 0;
  let visibleAt: Timestamp | undefined;
  let receipt = '';
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        id = r.string();
        continue;
      case 18:
        queue = r.string();
        continue;
      case 26:
        payload = Buffer.from(r.bytes()); // a copy: the frame's buffer is not kept alive
        continue;
      case 32:
        priority = r.int32();
        continue;
      case 42:
        readStringMapEntry(r, r.fieldEnd(), attributes);
        continue;
      case 50:
        enqueuedAt = readSecondsNanos(r, r.fieldEnd());
        continue;
      case 56:
        deliveryCount = r.uint32();
        continue;
      case 66:
        visibleAt = readSecondsNanos(r, r.fieldEnd());
        continue;
      case 74:
        receipt = r.string();
        continue;
    }
    if (!r.skipField(tag)) break;
  }
  return { id, queue, payload: payload ?? Buffer.alloc(0), priority, attributes, enqueuedAt, deliveryCount, visibleAt, receipt };
}
