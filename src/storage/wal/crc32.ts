/**
 * CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use) of a byte range. Small ranges (the
 * short records: deliveries, acks) go through a slicing-by-8 table in JavaScript, which beats
 * the fixed cost of a call into zlib; larger ones through Node's native `zlib.crc32` (Node
 * 20.15+) when the runtime has it. Every path gives the same value (a test checks).
 */
import * as zlib from 'node:zlib';

const TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k][n] = t[0][t[k - 1][n] & 0xff] ^ (t[k - 1][n] >>> 8);
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/** CRC-32 of `data[start, end)` in JavaScript (slicing-by-8), continuing from `crc` (a CRC-32 of what came before). */
export function crc32Table(data: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      T7[a & 0xff] ^ T6[(a >>> 8) & 0xff] ^ T5[(a >>> 16) & 0xff] ^ T4[a >>> 24] ^
      T3[data[i + 4]] ^ T2[data[i + 5]] ^ T1[data[i + 6]] ^ T0[data[i + 7]];
  }
  for (; i < end; i++) c = T0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const native = (zlib as { crc32?: (data: NodeJS.ArrayBufferView, value?: number) => number }).crc32;
/** Below this many bytes the JavaScript tables are faster than a call into zlib (measured). */
const NATIVE_FROM = 256;

/** CRC-32 of `data[start, end)`, unsigned. */
export function crc32(data: Buffer, start: number, end: number): number {
  return native === undefined || end - start < NATIVE_FROM ? crc32Table(data, start, end) : native(data.subarray(start, end));
}

/** CRC-32 of all of `data`, continuing from `crc` (what came before it). */
export function crc32Continue(data: Uint8Array, crc: number): number {
  return native === undefined || data.length < NATIVE_FROM ? crc32Table(data, 0, data.length, crc) : native(data, crc);
}
