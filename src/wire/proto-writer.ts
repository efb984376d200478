/**
 * The pieces of a hand-written protobuf encoder: sizes of varints and fields, and a writer
 * over one Buffer of the exact size. The hot encoders (server: delivery-frame.ts, batch-codecs.ts; client:
 * batch-encoders.ts) size a message first, allocate once, then write each field in place,
 * as the generated encoders would (proto3: default values left out). Pure: no I/O, no state
 * beyond the writer's position. Shared by the server and the client package (which compiles
 * it in, as it does the generated stubs).
 */
type Writes = { latin1Write(s: string, at: number): number; utf8Write(s: string, at: number): number };
const { latin1Write, utf8Write } = Buffer.prototype as unknown as Writes;
/** ASCII strings up to this long are copied by a loop rather than by Buffer's latin1Write. */
const SHORT_STRING = 64;

/** Bytes of `s` in UTF-8 (its length when it is ASCII, as ids, receipts and queue names are). */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Bytes of an unsigned varint below 2^53. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (n = Math.floor(n / 0x800000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Bytes of an int32/int64 field's varint: negative numbers take ten. */
export const signedSize = (n: number): number => (n < 0 ? 10 : varintSize(n));
/** Bytes of a length-delimited field (tag, length, body) whose body is `len` bytes. */
export const fieldSize = (len: number): number => 1 + varintSize(len) + len;
/** Bytes of a string field of `len` UTF-8 bytes: nothing when empty. */
export const stringSize = (len: number): number => (len === 0 ? 0 : fieldSize(len));

/** Bytes of a google.protobuf.Timestamp or Duration body of these parts (each left out when 0). */
export const timePartsSize = (seconds: number, nanos: number): number =>
  (seconds !== 0 ? 1 + signedSize(seconds) : 0) + (nanos !== 0 ? 1 + signedSize(nanos) : 0);

/** Bytes of a google.protobuf.Timestamp or Duration body. */
export const secondsNanosSize = (t: { seconds: number; nanos: number }): number => timePartsSize(t.seconds, t.nanos);

/**
 * Bytes of the body of the google.protobuf.Timestamp of `ms` (integer milliseconds since the
 * epoch, not negative, as the engine keeps times).
 */
export const msTimestampSize = (ms: number): number => {
  const seconds = Math.floor(ms / 1000);
  return timePartsSize(seconds, (ms - seconds * 1000) * 1e6);
};

/**
 * The sizes of a map<string, string> field's entries, three per entry in key order (key
 * bytes, value bytes, entry body bytes), or null for an empty map; `stringMapSize` adds them up.
 */
export function stringMapSizes(map: Readonly<Record<string, string>>): number[] | null {
  let sizes: number[] | null = null;
  for (const key of Object.keys(map)) {
    const k = utf8Length(key);
    const v = utf8Length(map[key]);
    (sizes ??= []).push(k, v, stringSize(k) + stringSize(v));
  }
  return sizes;
}

/** Bytes of a map<string, string> field whose entries measured `sizes`. */
export function stringMapSize(sizes: number[] | null): number {
  let total = 0;
  if (sizes !== null) for (let i = 2; i < sizes.length; i += 3) total += fieldSize(sizes[i]);
  return total;
}

/**
 * Writes fields into a Buffer sized beforehand; done() checks the size was right. A writer
 * used as scratch instead grows with `reserve` before each piece whose size it knows, and
 * `take()` copies out what it holds and starts again.
 */
export class ProtoWriter {
  pos = 0;
  buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Makes room for `bytes` more (copying what is written into a buffer at least twice as large). */
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.pos + bytes, 2 * this.buf.length));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    // Above 32 bits with float arithmetic (exact below 2^53); below, with integer shifts,
    // several times cheaper (% and / on numbers past 2^31, like times, are float operations).
    while (n > 0xffffffff) {
      buf[pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    while (n > 0x7f) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** An int32/int64 value: negative numbers as their 64-bit two's complement. */
  signed(n: number): void {
    if (n >= 0) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** A string field of `len` UTF-8 bytes (nothing when empty). */
  string(tag: number, s: string, len: number): void {
    if (len === 0) return;
    this.byte(tag);
    this.varint(len);
    if (len !== s.length) this.pos += utf8Write.call(this.buf, s, this.pos);
    else if (len > SHORT_STRING) this.pos += latin1Write.call(this.buf, s, this.pos);
    else {
      // ASCII (its UTF-8 length is its length) and short, as ids, receipts and queue names
      // are: a loop costs less than the call into C++.
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
    }
  }

  /**
   * A string field the caller knows is ASCII (ids and receipts the engine holds: validate.ts
   * admits only printable ASCII ids, and the server makes its ids and receipts of base32 and
   * base64url), so it is not measured first. Throws if it is not ASCII after all: a broken
   * promise fails the frame loudly instead of sending wrong bytes.
   */
  ascii(tag: number, s: string): void {
    const len = s.length;
    if (len === 0) return;
    this.byte(tag);
    this.varint(len);
    const buf = this.buf;
    let pos = this.pos;
    let seen = 0;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      seen |= c;
      buf[pos++] = c;
    }
    if (seen >= 0x80) throw new Error(`ProtoWriter.ascii: ${JSON.stringify(s)} is not ASCII`);
    this.pos = pos;
  }

  /** A bytes field (nothing when empty). */
  bytes(tag: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.byte(tag);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A bytes or string field whose value is `src` from `at` to `end`, copied as it is (nothing when empty). */
  bytesOf(tag: number, src: Uint8Array, at: number, end: number): void {
    const len = end - at;
    if (len === 0) return;
    this.byte(tag);
    this.varint(len);
    const buf = this.buf;
    let pos = this.pos;
    if (len > SHORT_STRING) buf.set(src.subarray(at, end), pos);
    else for (let i = at; i < end; i++) buf[pos++] = src[i]; // short, as ids and receipts are: no call into C++
    this.pos = this.pos + len;
  }

  /** A map<string, string> field (one entry per key, as the generated encoders write it); `sizes` from stringMapSizes. */
  stringMap(tag: number, map: Readonly<Record<string, string>>, sizes: number[] | null): void {
    if (sizes === null) return;
    let a = 0;
    for (const key of Object.keys(map)) {
      this.byte(tag);
      this.varint(sizes[a + 2]);
      this.string(10, key, sizes[a]);
      this.string(18, map[key], sizes[a + 1]);
      a += 3;
    }
  }

  /** A Timestamp or Duration field of these parts whose body is `size` bytes (timePartsSize). */
  timeParts(tag: number, seconds: number, nanos: number, size: number): void {
    this.byte(tag);
    this.varint(size);
    if (seconds !== 0) {
      this.byte(8);
      this.signed(seconds);
    }
    if (nanos !== 0) {
      this.byte(16);
      this.signed(nanos);
    }
  }

  /** A Timestamp or Duration field whose body is `size` bytes. */
  secondsNanos(tag: number, t: { seconds: number; nanos: number }, size: number): void {
    this.timeParts(tag, t.seconds, t.nanos, size);
  }

  /** A google.protobuf.Timestamp field of `ms` whose body is `size` bytes (msTimestampSize). */
  msTimestamp(tag: number, ms: number, size: number): void {
    const seconds = Math.floor(ms / 1000);
    this.timeParts(tag, seconds, (ms - seconds * 1000) * 1e6, size);
  }

  /** The buffer, once exactly filled. */
  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`protobuf writer: wrote ${this.pos} bytes of ${this.buf.length}`);
    return this.buf;
  }

  /** A copy of what is written, in a buffer of its own; the writer starts again, empty. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}
