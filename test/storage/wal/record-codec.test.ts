/**
 * The record format: every record decodes to what was encoded, each encoder writes exactly
 * its size, and the CRC catches any change to a frame.
 */
import fc from 'fast-check';
import { crc32, crc32Continue, crc32Table } from '../../../src/storage/wal/crc32';
import {
  BAD_FRAME,
  checkFrame,
  decodeRecord,
  DELIVERED_SIZE,
  END_OF_RECORDS,
  enqueuedSize,
  FRAME_HEADER_BYTES,
  NOT_LOADED,
  patchEnqueued,
  QUEUE_DELETED_SIZE,
  queueRecordSize,
  RecordType,
  REMOVED_SIZE,
  REQUEUED_SIZE,
  writeDelivered,
  writeEnqueued,
  writePad,
  writeQueue,
  writeQueueDeleted,
  writeRemoved,
  writeRequeued,
  type WalRecord,
} from '../../../src/storage/wal/record-codec';

const id = fc.stringMatching(/^[\x21-\x7e]{1,128}$/);
const queueName = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);
const time = fc.integer({ min: 0, max: 2 ** 50 });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const attributes = fc.dictionary(fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/), fc.string({ unit: 'grapheme', maxLength: 40 }), { maxKeys: 5 });

const enqueued = fc.record({
  queueNum: u32,
  id,
  seq: time,
  priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  enqueuedAt: time,
  readyAt: time,
  deliveryCount: u32,
  inFlight: fc.boolean(),
  attributes,
  payload: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
});

/** Encodes a record the way the storage does; returns the frame. */
function encode(r: WalRecord): Buffer {
  switch (r.type) {
    case RecordType.Queue: {
      const buf = Buffer.alloc(queueRecordSize(r.name, r.settings.deadLetterQueue));
      expect(writeQueue(buf, 0, r.queueNum, r.name, r.settings, r.createdAt)).toBe(buf.length);
      return buf;
    }
    case RecordType.QueueDeleted: {
      const buf = Buffer.alloc(QUEUE_DELETED_SIZE);
      expect(writeQueueDeleted(buf, 0, r.queueNum)).toBe(buf.length);
      return buf;
    }
    case RecordType.Enqueued: {
      const buf = Buffer.alloc(enqueuedSize(r.id, r.attributes, r.payload.length));
      expect(writeEnqueued(buf, 0, r.queueNum, r, r.readyAt, r.inFlight)).toBe(buf.length);
      return buf;
    }
    case RecordType.Delivered: {
      const buf = Buffer.alloc(DELIVERED_SIZE);
      expect(writeDelivered(buf, 0, r.seq, r.deliveryCount)).toBe(buf.length);
      return buf;
    }
    case RecordType.Requeued: {
      const buf = Buffer.alloc(REQUEUED_SIZE);
      expect(writeRequeued(buf, 0, r.seq, r.readyAt)).toBe(buf.length);
      return buf;
    }
    case RecordType.Removed: {
      const buf = Buffer.alloc(REMOVED_SIZE);
      expect(writeRemoved(buf, 0, r.seq)).toBe(buf.length);
      return buf;
    }
    case RecordType.Pad: {
      const buf = Buffer.alloc(40);
      writePad(buf, 0, buf.length);
      return buf;
    }
  }
}

const anyRecord: fc.Arbitrary<WalRecord> = fc.oneof(
  fc.record({
    type: fc.constant(RecordType.Queue),
    queueNum: u32,
    name: queueName,
    createdAt: time,
    settings: fc.record({
      visibilityTimeoutMs: fc.integer({ min: 1, max: 12 * 3600 * 1000 }),
      maxDeliveries: u32,
      deadLetterQueue: fc.oneof(fc.constant(''), queueName),
      maxDepth: fc.integer({ min: 1, max: 2 ** 53 - 1 }),
    }),
  }),
  fc.record({ type: fc.constant(RecordType.QueueDeleted), queueNum: u32 }),
  enqueued.map((e) => ({ type: RecordType.Enqueued, ...e, payloadLength: e.payload.length })),
  fc.record({ type: fc.constant(RecordType.Delivered), seq: time, deliveryCount: u32 }),
  fc.record({ type: fc.constant(RecordType.Requeued), seq: time, readyAt: time }),
  fc.record({ type: fc.constant(RecordType.Removed), seq: time }),
  fc.constant({ type: RecordType.Pad }),
);

const decoded = (frame: Buffer): WalRecord => {
  const end = checkFrame(frame, 0, frame.length);
  expect(end).toBe(frame.length);
  return decodeRecord(frame, FRAME_HEADER_BYTES, end);
};

test('every record decodes to what was encoded, from a frame of exactly its size', () => {
  fc.assert(
    fc.property(anyRecord, (r) => {
      const back = decoded(encode(r));
      if (r.type === RecordType.Enqueued) {
        expect(back).toEqual({ ...r, payload: Buffer.from(r.payload), payloadLength: r.payload.length });
        const frame = encode(r);
        expect(decodeRecord(frame, FRAME_HEADER_BYTES, frame.length, false)).toEqual({ ...r, payload: NOT_LOADED, payloadLength: r.payload.length });
      } else expect(back).toEqual(r);
    }),
    { numRuns: 500 },
  );
});

test('changing any byte of a frame, or cutting it short, makes checkFrame refuse it', () => {
  fc.assert(
    fc.property(anyRecord, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, at, xor) => {
      const frame = encode(r);
      const i = at % frame.length;
      const bad = Buffer.from(frame);
      bad[i] ^= xor;
      const result = checkFrame(bad, 0, bad.length);
      // A changed length can only shrink into END_OF_RECORDS when the header became all zero.
      expect(result === BAD_FRAME || (result === END_OF_RECORDS && bad.readUInt32LE(0) === 0 && bad.readUInt32LE(4) === 0)).toBe(true);
      expect(checkFrame(frame, 0, frame.length - 1 - (at % (frame.length - 1)))).toBe(BAD_FRAME);
    }),
    { numRuns: 500 },
  );
});

test('zeros are the end of the records; a frame is found at any offset of a buffer', () => {
  const frame = encode({ type: RecordType.Removed, seq: 7 });
  const buf = Buffer.alloc(100);
  frame.copy(buf, 13);
  expect(checkFrame(buf, 0, buf.length)).toBe(END_OF_RECORDS);
  expect(checkFrame(buf, 13, buf.length)).toBe(13 + frame.length);
  expect(checkFrame(buf, 13 + frame.length, buf.length)).toBe(END_OF_RECORDS);
  expect(checkFrame(buf, 96, buf.length)).toBe(END_OF_RECORDS); // fewer than 8 bytes left, all zero
});

test('patchEnqueued rewrites the changing fields and keeps the rest and a valid CRC', () => {
  fc.assert(
    fc.property(enqueued, time, u32, fc.boolean(), (e, readyAt, count, inFlight) => {
      const frame = encode({ type: RecordType.Enqueued, ...e, payloadLength: e.payload.length });
      patchEnqueued(frame, 0, frame.length, readyAt, count, inFlight);
      expect(decoded(frame)).toEqual({ type: RecordType.Enqueued, ...e, payload: Buffer.from(e.payload), payloadLength: e.payload.length, readyAt, deliveryCount: count, inFlight });
    }),
  );
});

test('the table CRC-32 and the native one agree, whole or continued from a prefix', () => {
  expect(crc32Table(Buffer.from('123456789'), 0, 9)).toBe(0xcbf43926);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.nat(), (bytes, cut, split) => {
      const buf = Buffer.from(bytes);
      const start = buf.length === 0 ? 0 : cut % buf.length;
      const whole = crc32(buf, start, buf.length);
      expect(whole).toBe(crc32Table(buf, start, buf.length));
      const mid = start + (buf.length === start ? 0 : split % (buf.length - start));
      expect(crc32Continue(buf.subarray(mid), crc32(buf, start, mid))).toBe(whole);
      expect(crc32Table(buf, mid, buf.length, crc32Table(buf, start, mid))).toBe(whole);
    }),
  );
});

test('an attribute named __proto__ is data: it survives the round trip as written', () => {
  const attributes: Record<string, string> = {};
  Object.defineProperty(attributes, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
  const r = { ...(fc.sample(anyRecord.filter((x) => x.type === RecordType.Enqueued), { seed: 1, numRuns: 1 })[0] as object), attributes };
  const back = decoded(encode(r as Parameters<typeof encode>[0])) as { attributes: Record<string, string> };
  expect(Object.keys(back.attributes)).toEqual(['__proto__']);
  expect(Object.getOwnPropertyDescriptor(back.attributes, '__proto__')?.value).toBe('x');
});
