/**
 * The WAL's records, in bytes. Every record is a frame: u32 body length, u32 CRC-32 of the
 * body, then the body, whose first byte is the record type. Integers are little-endian;
 * times, sequence numbers and max_depth are float64 (exact integers up to 2^53); every string
 * carries its byte length in front. Records are encoded straight into the log's buffer: no
 * JSON, no intermediate objects.
 *
 * Records (body layouts after the type byte):
 *   Queue        u32 queue, f64 createdAt, u32 visibilityMs, u32 maxDeliveries, f64 maxDepth,
 *                u8+name, u8+deadLetterQueue           (created, and at every segment start)
 *   QueueDeleted u32 queue
 *   Enqueued     u32 queue, f64 seq, f64 enqueuedAt, f64 readyAt, i32 priority,
 *                u32 deliveryCount, u8 flags (1 = in flight), u8+id,
 *                u16 count × (u16+key, u32+value), u32+payload    (the full record)
 *   Delivered    f64 seq, u32 deliveryCount
 *   Requeued     f64 seq, f64 readyAt                               (nacked)
 *   Removed      f64 seq                                            (the tombstone)
 *   Pad          zeros (a damaged range that --wal-repair overwrote)
 * Queues are named by their number (given at creation, never reused). The short records
 * name a message by its sequence number, which is unique among live messages across the
 * broker (a restart goes on from the highest live one, so a number is reused only after its
 * message is gone, and its records come in log order).
 *
 * Invariants: a body is never empty, so a zero length marks the end of a segment's records
 * (segments are preallocated with zeros). Each encoder writes exactly its size in bytes.
 * Message ids are printable ASCII (src/validate.ts) and queue names are ASCII, so both are
 * written one byte per character. Decoders check every length against the body's end and
 * throw RecordFormatError on anything that does not fit.
 */
import type { Attributes, MessageView } from '../../engine/message';
import type { QueueSettings } from '../../engine/queue';
import { crc32, crc32Continue, crc32Table } from './crc32';

export const RecordType = {
  Queue: 1,
  QueueDeleted: 2,
  Enqueued: 3,
  Delivered: 4,
  Requeued: 5,
  Removed: 6,
  Pad: 7,
} as const;

export const FRAME_HEADER_BYTES = 8;

export class RecordFormatError extends Error {}

export interface QueueRecord {
  type: typeof RecordType.Queue;
  queueNum: number;
  name: string;
  settings: QueueSettings;
  createdAt: number;
}

export interface QueueDeletedRecord {
  type: typeof RecordType.QueueDeleted;
  queueNum: number;
}

export interface EnqueuedRecord {
  type: typeof RecordType.Enqueued;
  queueNum: number;
  id: string;
  seq: number;
  priority: number;
  enqueuedAt: number;
  readyAt: number;
  deliveryCount: number;
  inFlight: boolean;
  attributes: Attributes;
  /** NOT_LOADED when decoded without it (replay loads payloads of live messages later). */
  payload: Buffer;
  /** The payload is the last `payloadLength` bytes of the frame. */
  payloadLength: number;
}

export const NOT_LOADED: Buffer = Buffer.alloc(0);

export interface DeliveredRecord {
  type: typeof RecordType.Delivered;
  seq: number;
  deliveryCount: number;
}

export interface RequeuedRecord {
  type: typeof RecordType.Requeued;
  seq: number;
  readyAt: number;
}

export interface RemovedRecord {
  type: typeof RecordType.Removed;
  seq: number;
}

export interface PadRecord {
  type: typeof RecordType.Pad;
}

export type WalRecord =
  | QueueRecord
  | QueueDeletedRecord
  | EnqueuedRecord
  | DeliveredRecord
  | RequeuedRecord
  | RemovedRecord
  | PadRecord;

// ---- sizes (whole frames) ----

export function queueRecordSize(name: string, deadLetterQueue: string): number {
  return FRAME_HEADER_BYTES + 31 + Buffer.byteLength(name) + Buffer.byteLength(deadLetterQueue);
}

export const QUEUE_DELETED_SIZE = FRAME_HEADER_BYTES + 5;

export function enqueuedSize(id: string, attributes: Attributes, payloadBytes: number): number {
  let size = FRAME_HEADER_BYTES + 45 + id.length + payloadBytes;
  for (const key in attributes) size += 6 + Buffer.byteLength(key) + Buffer.byteLength(attributes[key]);
  return size;
}

export const DELIVERED_SIZE = FRAME_HEADER_BYTES + 13;
export const REQUEUED_SIZE = FRAME_HEADER_BYTES + 17;
export const REMOVED_SIZE = FRAME_HEADER_BYTES + 9;

/** The smallest frame: a pad must cover at least this much. */
export const MIN_FRAME_BYTES = FRAME_HEADER_BYTES + 1;

// ---- encoders: write the frame at `off` (exactly its size), return its end ----

/** Fills in the frame header of the record whose body was written to buf[off + 8, end). */
export function sealFrame(buf: Buffer, off: number, end: number): number {
  buf.writeUInt32LE(end - off - FRAME_HEADER_BYTES, off);
  buf.writeUInt32LE(crc32(buf, off + FRAME_HEADER_BYTES, end), off + 4);
  return end;
}

export function writeQueue(buf: Buffer, off: number, queueNum: number, name: string, settings: QueueSettings, createdAt: number): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.Queue;
  buf.writeUInt32LE(queueNum, p + 1);
  buf.writeDoubleLE(createdAt, p + 5);
  buf.writeUInt32LE(settings.visibilityTimeoutMs, p + 13);
  buf.writeUInt32LE(settings.maxDeliveries, p + 17);
  buf.writeDoubleLE(settings.maxDepth, p + 21);
  p = writeShortString(buf, p + 29, name);
  p = writeShortString(buf, p, settings.deadLetterQueue);
  return sealFrame(buf, off, p);
}

export function writeQueueDeleted(buf: Buffer, off: number, queueNum: number): number {
  const p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.QueueDeleted;
  buf.writeUInt32LE(queueNum, p + 1);
  return sealFrame(buf, off, p + 5);
}

/** Offsets inside an Enqueued body of the fields that change over a message's life. */
const ENQ_READY_AT = 21;
const ENQ_DELIVERY_COUNT = 33;
const ENQ_FLAGS = 37;
const FLAG_IN_FLIGHT = 1;

export function writeEnqueued(
  buf: Buffer,
  off: number,
  queueNum: number,
  m: MessageView,
  readyAt: number,
  inFlight: boolean,
): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.Enqueued;
  buf.writeUInt32LE(queueNum, p + 1);
  buf.writeDoubleLE(m.seq, p + 5);
  buf.writeDoubleLE(m.enqueuedAt, p + 13);
  buf.writeDoubleLE(readyAt, p + ENQ_READY_AT);
  buf.writeInt32LE(m.priority, p + 29);
  buf.writeUInt32LE(m.deliveryCount, p + ENQ_DELIVERY_COUNT);
  buf[p + ENQ_FLAGS] = inFlight ? FLAG_IN_FLIGHT : 0;
  const id = m.id;
  buf[p + 38] = id.length;
  p = writeAscii(buf, p + 39, id);
  const countAt = p;
  let count = 0;
  p += 2;
  const attributes = m.attributes;
  for (const key in attributes) {
    const k = buf.write(key, p + 2, 'utf8');
    buf.writeUInt16LE(k, p);
    p += 2 + k;
    const v = buf.write(attributes[key], p + 4, 'utf8');
    buf.writeUInt32LE(v, p);
    p += 4 + v;
    count++;
  }
  buf.writeUInt16LE(count, countAt);
  const payload = m.payload;
  buf.writeUInt32LE(payload.length, p);
  buf.set(payload, p + 4);
  // The payload comes last: its CRC continues that of the fields before it, straight from
  // the message's own buffer.
  const end = p + 4 + payload.length;
  buf.writeUInt32LE(end - off - FRAME_HEADER_BYTES, off);
  buf.writeUInt32LE(crc32Continue(payload, crc32Table(buf, off + FRAME_HEADER_BYTES, p + 4)), off + 4);
  return end;
}

/**
 * Updates, in a copy of an Enqueued frame at buf[off, end), the fields that change over a
 * message's life, and re-seals it (compaction moves live records forward this way).
 */
export function patchEnqueued(buf: Buffer, off: number, end: number, readyAt: number, deliveryCount: number, inFlight: boolean): void {
  const p = off + FRAME_HEADER_BYTES;
  if (buf[p] !== RecordType.Enqueued) throw new RecordFormatError('not an Enqueued record');
  buf.writeDoubleLE(readyAt, p + ENQ_READY_AT);
  buf.writeUInt32LE(deliveryCount, p + ENQ_DELIVERY_COUNT);
  buf[p + ENQ_FLAGS] = inFlight ? FLAG_IN_FLIGHT : 0;
  sealFrame(buf, off, end);
}

export function writeDelivered(buf: Buffer, off: number, seq: number, deliveryCount: number): number {
  const p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.Delivered;
  buf.writeDoubleLE(seq, p + 1);
  buf.writeUInt32LE(deliveryCount, p + 9);
  return sealFrame(buf, off, p + 13);
}

export function writeRequeued(buf: Buffer, off: number, seq: number, readyAt: number): number {
  const p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.Requeued;
  buf.writeDoubleLE(seq, p + 1);
  buf.writeDoubleLE(readyAt, p + 9);
  return sealFrame(buf, off, p + 17);
}

export function writeRemoved(buf: Buffer, off: number, seq: number): number {
  const p = off + FRAME_HEADER_BYTES;
  buf[p] = RecordType.Removed;
  buf.writeDoubleLE(seq, p + 1);
  return sealFrame(buf, off, p + 9);
}

/** A pad frame covering buf[off, end) exactly (end - off >= MIN_FRAME_BYTES). */
export function writePad(buf: Buffer, off: number, end: number): number {
  buf.fill(0, off + FRAME_HEADER_BYTES, end);
  buf[off + FRAME_HEADER_BYTES] = RecordType.Pad;
  return sealFrame(buf, off, end);
}

/** Writes an ASCII string one byte per character (cheaper than Buffer.write for short ids); returns its end. */
function writeAscii(buf: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[p + i] = s.charCodeAt(i);
  return p + s.length;
}

function writeShortString(buf: Buffer, p: number, s: string): number {
  const n = buf.write(s, p + 1, 'utf8');
  if (n > 255) throw new RecordFormatError(`'${s.slice(0, 40)}…' is too long for a record`);
  buf[p] = n;
  return p + 1 + n;
}

// ---- frames ----

/** checkFrame: buf[off...] holds no more records (a zero length: preallocated space). */
export const END_OF_RECORDS = 0;
/** checkFrame: the frame at off is torn or damaged (length beyond the limit, bad CRC). */
export const BAD_FRAME = -1;

/**
 * Checks the frame at `off`, which must end by `limit`: returns its end when its length fits
 * and its CRC matches, END_OF_RECORDS for a zero header, BAD_FRAME otherwise.
 */
export function checkFrame(buf: Buffer, off: number, limit: number): number {
  if (limit - off < FRAME_HEADER_BYTES) {
    for (let i = off; i < limit; i++) if (buf[i] !== 0) return BAD_FRAME;
    return END_OF_RECORDS;
  }
  const len = buf.readUInt32LE(off);
  if (len === 0) return buf.readUInt32LE(off + 4) === 0 ? END_OF_RECORDS : BAD_FRAME;
  const end = off + FRAME_HEADER_BYTES + len;
  if (end > limit) return BAD_FRAME;
  return crc32(buf, off + FRAME_HEADER_BYTES, end) === buf.readUInt32LE(off + 4) ? end : BAD_FRAME;
}

// ---- decoders: the body buf[start, end) of a checked frame ----

/** Reads fields of one body, checking each against its end. */
class BodyReader {
  constructor(
    private readonly buf: Buffer,
    public p: number,
    private readonly end: number,
  ) {}

  private need(n: number): number {
    const at = this.p;
    if (at + n > this.end) throw new RecordFormatError('record ends early');
    this.p = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1)];
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  latin1(n: number): string {
    const at = this.need(n);
    return this.buf.toString('latin1', at, at + n);
  }
  utf8(n: number): string {
    const at = this.need(n);
    return this.buf.toString('utf8', at, at + n);
  }
  /** A copy: the source buffer is reused. */
  bytes(n: number): Buffer {
    const at = this.need(n);
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, at, at + n);
    return out;
  }
  done(): void {
    if (this.p !== this.end) throw new RecordFormatError(`record has ${this.end - this.p} bytes too many`);
  }
}

/**
 * Decodes the body buf[start, end) of a checked frame. Without `withPayload`, an Enqueued
 * record's payload is NOT_LOADED (no copy is made).
 */
export function decodeRecord(buf: Buffer, start: number, end: number, withPayload = true): WalRecord {
  if (buf[start] === RecordType.Enqueued) return decodeEnqueued(buf, start, end, withPayload);
  const r = new BodyReader(buf, start, end);
  const type = r.u8();
  let record: WalRecord;
  switch (type) {
    case RecordType.Queue: {
      const queueNum = r.u32();
      const createdAt = r.f64();
      const visibilityTimeoutMs = r.u32();
      const maxDeliveries = r.u32();
      const maxDepth = r.f64();
      const name = r.utf8(r.u8());
      const deadLetterQueue = r.utf8(r.u8());
      record = { type, queueNum, name, createdAt, settings: { visibilityTimeoutMs, maxDeliveries, deadLetterQueue, maxDepth } };
      break;
    }
    case RecordType.QueueDeleted:
      record = { type, queueNum: r.u32() };
      break;
    case RecordType.Delivered: {
      const seq = r.f64();
      record = { type, seq, deliveryCount: r.u32() };
      break;
    }
    case RecordType.Requeued: {
      const seq = r.f64();
      record = { type, seq, readyAt: r.f64() };
      break;
    }
    case RecordType.Removed:
      record = { type, seq: r.f64() };
      break;
    case RecordType.Pad:
      return { type };
    default:
      throw new RecordFormatError(`unknown record type ${type}`);
  }
  r.done();
  return record;
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The common record, read field by field: one bounds check for the fixed part, one for each variable one. */
function decodeEnqueued(buf: Buffer, start: number, end: number, withPayload: boolean): EnqueuedRecord {
  const idAt = start + 39;
  if (idAt + 2 > end) throw new RecordFormatError('record ends early');
  const idEnd = idAt + buf[start + 38];
  let p = idEnd + 2;
  if (p > end) throw new RecordFormatError('record ends early');
  const count = buf.readUInt16LE(idEnd);
  let attributes: Record<string, string> = EMPTY;
  if (count > 0) {
    const r = new BodyReader(buf, p, end);
    attributes = {};
    for (let i = 0; i < count; i++) {
      const key = r.utf8(r.u16());
      // defineProperty, not assignment: a key such as "__proto__" is data, kept as written.
      Object.defineProperty(attributes, key, { value: r.utf8(r.u32()), enumerable: true, writable: true, configurable: true });
    }
    p = r.p;
  }
  if (p + 4 > end) throw new RecordFormatError('record ends early');
  const payloadLength = buf.readUInt32LE(p);
  p += 4;
  if (p + payloadLength !== end) throw new RecordFormatError(p + payloadLength > end ? 'record ends early' : 'record has bytes too many');
  let payload: Buffer = NOT_LOADED;
  if (withPayload) {
    payload = Buffer.allocUnsafe(payloadLength);
    buf.copy(payload, 0, p, end);
  }
  return {
    type: RecordType.Enqueued,
    queueNum: buf.readUInt32LE(start + 1),
    id: buf.toString('latin1', idAt, idEnd),
    seq: buf.readDoubleLE(start + 5),
    enqueuedAt: buf.readDoubleLE(start + 13),
    readyAt: buf.readDoubleLE(start + ENQ_READY_AT),
    priority: buf.readInt32LE(start + 29),
    deliveryCount: buf.readUInt32LE(start + ENQ_DELIVERY_COUNT),
    inFlight: (buf[start + ENQ_FLAGS] & FLAG_IN_FLIGHT) !== 0,
    attributes,
    payload,
    payloadLength,
  };
}
