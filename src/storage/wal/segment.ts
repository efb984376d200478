/**
 * One segment of the log: a file `wal-NNNNNN.log` of a fixed size, preallocated with zeros,
 * that starts with a versioned header and holds records (record-codec.ts) from there on.
 *
 * Header (32 bytes): "CORAMQWL", u16 format version, u16 0, u32 segment number, 12 zero
 * bytes, u32 CRC-32 of the 28 bytes before it.
 *
 * Invariants: segment numbers grow by one; a segment's records end where a zero length
 * starts (`end`, which counts records appended but not yet written too); `firstLive..
 * lastLive` lists, in position order, the live messages whose full record is in this
 * segment, and `liveCount`/`liveBytes` count them: once a segment is no longer the one being
 * appended to, they only go down. A new segment is prepared under
 * a `.prealloc` name and renamed into place only when allocated and its header is on disk,
 * so a segment file never lacks its header.
 */
import { crc32 } from './crc32';
import type { LiveMessage } from './live-index';

export const SEGMENT_HEADER_BYTES = 32;
export const WAL_FORMAT_VERSION = 1;
export const PREALLOC_SUFFIX = '.prealloc';
const MAGIC = 'CORAMQWL';

/** The data directory holds something this server cannot start from (a clear message). */
export class WalCorruptError extends Error {
  override name = 'WalCorruptError';
}

export function segmentFileName(num: number): string {
  return `wal-${String(num).padStart(6, '0')}.log`;
}

/** The segment number of a file name, or null when it is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const m = /^wal-(\d{6,})\.log$/.exec(name);
  return m === null ? null : Number(m[1]);
}

export function encodeSegmentHeader(num: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.write(MAGIC, 0, 'latin1');
  h.writeUInt16LE(WAL_FORMAT_VERSION, 8);
  h.writeUInt32LE(num, 12);
  h.writeUInt32LE(crc32(h, 0, 28), 28);
  return h;
}

/** Throws WalCorruptError unless `buf` starts with the header of segment `num`. */
export function checkSegmentHeader(buf: Buffer, num: number, file: string): void {
  if (buf.length < SEGMENT_HEADER_BYTES || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new WalCorruptError(`${file} is not a CoraMQ log segment (no CORAMQWL header)`);
  }
  const version = buf.readUInt16LE(8);
  if (version !== WAL_FORMAT_VERSION) {
    throw new WalCorruptError(
      `${file} is in log format ${version}; this CoraMQ reads format ${WAL_FORMAT_VERSION}` +
        (version > WAL_FORMAT_VERSION ? ' (it was written by a newer version)' : ''),
    );
  }
  if (crc32(buf, 0, 28) !== buf.readUInt32LE(28)) throw new WalCorruptError(`${file}: its header is damaged (bad checksum)`);
  const inHeader = buf.readUInt32LE(12);
  if (inHeader !== num) throw new WalCorruptError(`${file} says it is segment ${inHeader}: was it renamed?`);
}

export class Segment {
  /** Open for writing while it takes records (or still has some to write); else -1. */
  fd = -1;
  end = SEGMENT_HEADER_BYTES;
  liveCount = 0;
  liveBytes = 0;
  firstLive: LiveMessage | null = null;
  lastLive: LiveMessage | null = null;

  constructor(
    readonly num: number,
    readonly path: string,
    /** The file's size: records must end by it. */
    readonly size: number,
  ) {}

  get free(): number {
    return this.size - this.end;
  }

  /** Bytes of records in it (live and dead). */
  get used(): number {
    return this.end - SEGMENT_HEADER_BYTES;
  }
}
