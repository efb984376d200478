/**
 * CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use) of a byte range. Node's native
 * `zlib.crc32` (Node 20.15+) when the runtime has it, else a table-driven fallback; both give
 * the same value (a test checks).
 */
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The fallback: CRC-32 of `data[start, end)`. */
export function crc32Table(data: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const native = (zlib as { crc32?: (data: NodeJS.ArrayBufferView) => number }).crc32;

/** CRC-32 of `data[start, end)`, unsigned. */
export const crc32: (data: Buffer, start: number, end: number) => number =
  native === undefined ? crc32Table : (data, start, end) => native(data.subarray(start, end));
