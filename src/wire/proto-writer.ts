/**
 * The pieces of a hand-written protobuf encoder: sizes of varints and fields, and a writer
 * over one Buffer of the exact size. The hot encoders (server: dequeue-encoder.ts; client:
 * batch-encoders.ts) size a message first, allocate once, then write each field in place,
 * as the generated encoders would (proto3: default values left out). Pure: no I/O, no state
 * beyond the writer's position. Shared by the server and the client package (which compiles
 * it in, as it does the generated stubs).
 */
type Writes = { latin1Write(s: string, at: number): number; utf8Write(s: string, at: number): number };
const { latin1Write, utf8Write } = Buffer.prototype as unknown as Writes;

/** Bytes of `s` in UTF-8 (its length when it is ASCII, as ids, receipts and queue names are). */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Bytes of an unsigned varint below 2^53. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of an int32/int64 field's varint: negative numbers take ten. */
export const signedSize = (n: number): number => (n < 0 ? 10 : varintSize(n));
/** Bytes of a length-delimited field (tag, length, body) whose body is `len` bytes. */
export const fieldSize = (len: number): number => 1 + varintSize(len) + len;
/** Bytes of a string field of `len` UTF-8 bytes: nothing when empty. */
export const stringSize = (len: number): number => (len === 0 ? 0 : fieldSize(len));

/** Bytes of a google.protobuf.Timestamp or Duration body. */
export const secondsNanosSize = (t: { seconds: number; nanos: number }): number =>
  (t.seconds !== 0 ? 1 + signedSize(t.seconds) : 0) + (t.nanos !== 0 ? 1 + signedSize(t.nanos) : 0);

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

/** Writes fields into a Buffer sized beforehand; done() checks the size was right. */
export class ProtoWriter {
  pos = 0;
  readonly buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
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
    this.pos += len === s.length ? latin1Write.call(this.buf, s, this.pos) : utf8Write.call(this.buf, s, this.pos);
  }

  /** A bytes field (nothing when empty). */
  bytes(tag: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.byte(tag);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
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

  /** A Timestamp or Duration field whose body is `size` bytes. */
  secondsNanos(tag: number, t: { seconds: number; nanos: number }, size: number): void {
    this.byte(tag);
    this.varint(size);
    if (t.seconds !== 0) {
      this.byte(8);
      this.signed(t.seconds);
    }
    if (t.nanos !== 0) {
      this.byte(16);
      this.signed(t.nanos);
    }
  }

  /** The buffer, once exactly filled. */
  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`protobuf writer: wrote ${this.pos} bytes of ${this.buf.length}`);
    return this.buf;
  }
}
