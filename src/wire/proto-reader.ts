/**
 * The reader of the hand-written protobuf decoders (client: dequeue-decoder.ts,
 * batch-decoders.ts; server: batch-codecs.ts). It reads exactly as the generated ts-proto
 * decoders over @bufbuild/protobuf's BinaryReader do, so a hand decoder built on it reads
 * every input, valid or not, as the generated one does: the same result, or an error where
 * the generated one throws. What that takes:
 *
 * - Bounds are those of the whole input: a nested message's length only ends its field loop,
 *   and a decoder goes on from wherever that loop stopped (decoders write their loops as
 *   `while (r.pos < end)` with `end = r.fieldEnd()`). Every read past the input throws.
 * - Varints are at most 10 bytes (int32/uint32 keep the low 32 bits), except in a skipped
 *   field, where any length reads. An int64 outside ±(2^53 - 1) throws (forceLong=number).
 * - A zero tag or an end-group tag ends the message being read (`skipField` says so);
 *   an unknown field of wire type 0, 1, 2, 3 (a group, nested at most 100 deep, whose inner
 *   end tags must match) or 5 is skipped, and wire types 6 and 7 throw.
 * - Strings are UTF-8 with each bad sequence replaced by U+FFFD, a leading BOM kept (as the
 *   TextDecoder the generated code uses).
 *
 * Errors name the message being decoded. Pure: no state beyond the position. Shared by the
 * server and the client package (which compiles it in, as it does the generated stubs).
 */

/**
 * Buffer's own UTF-8 decoder, without toString's argument handling: ASCII at memcpy speed
 * (simdutf), and the replacement of bad bytes with U+FFFD that TextDecoder does.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Buffer, start: number, end: number): string }).utf8Slice;

/** The string in `buf` from `start` to `end` (within it), as ProtoReader.string() reads it. */
export const utf8Text = (buf: Buffer, start: number, end: number): string => (end === start ? '' : utf8Slice.call(buf, start, end));

const TWO_32 = 2 ** 32;
/** How deep groups may nest in a skipped field (as BinaryReader.skip). */
const GROUP_DEPTH = 100;

export class ProtoReader {
  pos = 0;
  readonly len: number;
  /** The low and high 32 bits of the last varint64(). */
  private lo = 0;
  private hi = 0;

  constructor(
    readonly buf: Buffer,
    /** The message being decoded, for errors. */
    private readonly what: string,
  ) {
    this.len = buf.length;
  }

  private fail(problem: string): never {
    throw new Error(`${this.what}: ${problem}`);
  }

  /** A varint's low 32 bits, unsigned (a tag, a length, a uint32). */
  uint32(): number {
    const b = this.buf[this.pos];
    if (b < 0x80) {
      // (past the end b is undefined, and the comparison false)
      this.pos++;
      return b;
    }
    this.varint64();
    return this.lo >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    const b = this.buf[this.pos];
    if (b < 0x80) {
      this.pos++;
      return b !== 0;
    }
    this.varint64();
    return (this.lo | this.hi) !== 0;
  }

  /** An int64 as a number; outside ±(2^53 - 1) it throws, as the generated code does. */
  int64(): number {
    this.varint64();
    const n = this.hi * TWO_32 + (this.lo >>> 0); // exact in the safe range, and beyond it still beyond it
    if (n > Number.MAX_SAFE_INTEGER || n < Number.MIN_SAFE_INTEGER) this.fail('int64 beyond ±(2^53 - 1)');
    return n;
  }

  /** Reads a varint of up to 10 bytes into lo and hi (its low 64 bits, hi signed). */
  private varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.len) this.fail('truncated varint');
      const byte = buf[this.pos++];
      const bits = byte & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= bits << 28;
        hi = bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (byte < 0x80) {
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** Reads a length; returns where the nested message it prefixes ends (checked only by the reads). */
  fieldEnd(): number {
    const len = this.uint32();
    return this.pos + len;
  }

  /** Reads a length; returns where its field ends, which must be within the input (pos is at its start). */
  delimited(): number {
    const end = this.fieldEnd();
    if (end > this.len) this.fail('field runs past the end');
    return end;
  }

  string(): string {
    const end = this.delimited();
    const start = this.pos;
    this.pos = end;
    return utf8Text(this.buf, start, end);
  }

  /** A bytes field, as a view of the input (copy it to keep it past the input's life). */
  bytes(): Buffer {
    const end = this.delimited();
    const view = this.buf.subarray(this.pos, end);
    this.pos = end;
    return view;
  }

  /**
   * After a tag the message does not know: false when the tag ends the message (zero, or an
   * end-group tag), else skips the field and returns true.
   */
  skipField(tag: number): boolean {
    const wireType = tag & 7;
    if (wireType === 4 || tag === 0) return false;
    this.skip(wireType, -1, GROUP_DEPTH);
    return true;
  }

  /** Skips a field's value; in a group, `field` is the group's number (-1: any end tag will do). */
  private skip(wireType: number, field: number, depth: number): void {
    switch (wireType) {
      case 0:
        while (this.byte() >= 0x80);
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.fieldEnd();
        break;
      case 3:
        this.skipGroup(field, depth);
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`wire type ${wireType} cannot be skipped`);
    }
    if (this.pos > this.len) this.fail('field runs past the end');
  }

  private skipGroup(field: number, depth: number): void {
    if (depth <= 0) this.fail(`groups nested more than ${GROUP_DEPTH} deep`);
    for (;;) {
      const start = this.pos;
      const tag = this.uint32();
      if (this.pos - start > 5 || (this.pos - start === 5 && this.buf[this.pos - 1] > 0x0f)) this.fail('tag overflows 32 bits');
      const fieldNo = tag >>> 3;
      const wireType = tag & 7;
      if (fieldNo === 0 || wireType > 5) this.fail(`illegal tag ${tag} in a group`);
      if (wireType === 4) {
        if (field !== -1 && fieldNo !== field) this.fail(`group ${field} ends with the tag of ${fieldNo}`);
        return;
      }
      this.skip(wireType, fieldNo, depth - 1);
    }
  }

  private byte(): number {
    if (this.pos >= this.len) this.fail('truncated varint');
    return this.buf[this.pos++];
  }
}

/** A google.protobuf.Timestamp or Duration (the same fields) ending at `end`. */
export function readSecondsNanos(r: ProtoReader, end: number): { seconds: number; nanos: number } {
  const t = { seconds: 0, nanos: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 8) t.seconds = r.int64();
    else if (tag === 16) t.nanos = r.int32();
    else if (!r.skipField(tag)) break;
  }
  return t;
}

/**
 * A map<string, string> entry ending at `end`, put into `map` (a repeated key keeps its
 * first place and its last value). A key such as `__proto__` is kept as data, as the log
 * keeps it (record-codec.ts), where the generated decoders' plain assignment drops it.
 */
export function readStringMapEntry(r: ProtoReader, end: number, map: Record<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) key = r.string();
    else if (tag === 18) value = r.string();
    else if (!r.skipField(tag)) break;
  }
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}
