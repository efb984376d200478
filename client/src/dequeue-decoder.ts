/**
 * A hand-written decoder for DequeueResponse, the message a consumer receives most: it reads
 * the wire format straight into the objects the generated decoder makes (same fields, same
 * defaults), without the generated code's per-call reader bookkeeping, and skips unknown
 * fields as protobuf requires (so a newer server's additions are ignored, not fatal).
 *
 * Ensures: for every valid encoding, the result deep-equals the generated
 * `DequeueResponse.decode` (test/dequeue-decoder.test.ts checks this with random messages).
 * Malformed input throws, as the generated decoder does.
 */
import type { DequeueResponse, Message } from '../../generated/coramq/v1/queue';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';

const TWO_32 = 2 ** 32;
/** Buffer's own UTF-8 decoder without toString's argument handling (it replaces bad bytes with U+FFFD, as toString does). */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Buffer, start: number, end: number): string }).utf8Slice;

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    /** Where the message being read ends. */
    public end: number,
  ) {}

  /** Reads the message from here to `end` with `read`, then goes on after it. */
  within<T>(end: number, read: (r: Reader) => T): T {
    const outer = this.end;
    this.end = end;
    const value = read(this);
    this.end = outer;
    this.pos = end;
    return value;
  }

  /** A varint of up to 32 bits (longer ones are read whole and cut to their low 32 bits). */
  uint32(): number {
    const b = this.buf;
    let x = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('DequeueResponse: truncated varint');
      const byte = b[this.pos++];
      if (shift < 32) x |= (byte & 0x7f) << shift;
      if (byte < 0x80) return x >>> 0;
      shift += 7;
      if (shift > 63) throw new Error('DequeueResponse: varint too long');
    }
  }

  /** A varint int64 as a number (exact below 2^53, as the generated code's forceLong=number). */
  int64(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('DequeueResponse: truncated varint');
      const byte = b[this.pos++];
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      if (byte < 0x80) break;
      shift += 7;
      if (shift > 63) throw new Error('DequeueResponse: varint too long');
    }
    lo >>>= 0;
    return hi < 0 ? -((~hi >>> 0) * TWO_32 + ((~lo >>> 0) + 1)) : (hi >>> 0) * TWO_32 + lo;
  }

  /** The end of a length-delimited field starting here. */
  delimited(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) throw new Error('DequeueResponse: field runs past the end');
    return end;
  }

  string(): string {
    const end = this.delimited();
    const s = utf8Slice.call(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.int64();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimited();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`DequeueResponse: wire type ${wireType} cannot be skipped`);
    }
    if (this.pos > this.end) throw new Error('DequeueResponse: field runs past the end');
  }
}

/** Reads a DequeueResponse from `buf` (what grpc-js hands a response deserializer). */
export function decodeDequeueResponse(buf: Buffer): DequeueResponse {
  const r = new Reader(buf, buf.length);
  const messages: Message[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) messages.push(r.within(r.delimited(), readMessage));
    else if ((tag & 7) === 4 || tag === 0) break;
    else r.skip(tag & 7);
  }
  return { messages };
}

function readMessage(r: Reader): Message {
  let id = '';
  let queue = '';
  let payload: Buffer | null = null;
  let priority = 0;
  const attributes: Record<string, string> = {};
  let enqueuedAt: Timestamp | undefined;
  let deliveryCount = 0;
  let visibleAt: Timestamp | undefined;
  let receipt = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        id = r.string();
        continue;
      case 18:
        queue = r.string();
        continue;
      case 26: {
        const end = r.delimited();
        payload = Buffer.from(r.buf.subarray(r.pos, end)); // a copy: the frame's buffer is not kept alive
        r.pos = end;
        continue;
      }
      case 32:
        priority = r.uint32() | 0;
        continue;
      case 42: {
        const [key, value] = r.within(r.delimited(), readAttribute);
        // As data even for a key such as __proto__ (a plain assignment would set the prototype).
        Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
        continue;
      }
      case 50:
        enqueuedAt = r.within(r.delimited(), readTimestamp);
        continue;
      case 56:
        deliveryCount = r.uint32();
        continue;
      case 66:
        visibleAt = r.within(r.delimited(), readTimestamp);
        continue;
      case 74:
        receipt = r.string();
        continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    r.skip(tag & 7);
  }
  return { id, queue, payload: payload ?? Buffer.alloc(0), priority, attributes, enqueuedAt, deliveryCount, visibleAt, receipt };
}

function readAttribute(r: Reader): [string, string] {
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) key = r.string();
    else if (tag === 18) value = r.string();
    else if ((tag & 7) === 4 || tag === 0) break;
    else r.skip(tag & 7);
  }
  return [key, value];
}

function readTimestamp(r: Reader): Timestamp {
  const t: Timestamp = { seconds: 0, nanos: 0 };
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 8) t.seconds = r.int64();
    else if (tag === 16) t.nanos = r.uint32() | 0;
    else if ((tag & 7) === 4 || tag === 0) break;
    else r.skip(tag & 7);
  }
  return t;
}
