/**
 * Message ids and delivery receipts.
 *
 * Server-made ids are ULIDs that encode the message's sequence number and table slot
 * (see ServerIds). Receipts are 128 random bits from the CSPRNG (base64url, 22 characters):
 * unguessable, a new one for every delivery, and kept as bits, not strings (issueReceipt).
 */
import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A delivery's receipt is 128 random bits kept as four 32-bit words in a column of the
 * message table (`RECEIPT_WORDS` per slot): no JS object or string lives as long as a
 * delivery does, so thousands in flight give the garbage collector nothing to copy. Its text,
 * what clients see, is the base64url of those 16 bytes (big-endian words): 22 characters.
 */
export const RECEIPT_WORDS = 4;
/** Random words taken from a pool refilled in blocks: one CSPRNG call per 1,024 receipts. */
const POOL_WORDS = 4096;
const pool = new Int32Array(POOL_WORDS);
let poolPos = POOL_WORDS;

/** Gives `slot` a new receipt: fresh random bits in its words of `bits`. */
export function issueReceipt(bits: Int32Array, slot: number): void {
  if (poolPos === POOL_WORDS) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const at = slot * RECEIPT_WORDS;
  bits[at] = pool[poolPos];
  bits[at + 1] = pool[poolPos + 1];
  bits[at + 2] = pool[poolPos + 2];
  bits[at + 3] = pool[poolPos + 3];
  poolPos += RECEIPT_WORDS;
}

const B64 = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (ch) => ch.charCodeAt(0));

/**
 * The text of `slot`'s receipt: the base64url of its words as 16 big-endian bytes, 22
 * characters, the last carrying the final 2 bits (its low 4 bits zero). Each character is
 * six bits of the 128, read straight from the words.
 */
export function receiptText(bits: Int32Array, slot: number): string {
  const at = slot * RECEIPT_WORDS;
  const w0 = bits[at];
  const w1 = bits[at + 1];
  const w2 = bits[at + 2];
  const w3 = bits[at + 3];
  return String.fromCharCode(
    B64[(w0 >>> 26) & 63], B64[(w0 >>> 20) & 63], B64[(w0 >>> 14) & 63], B64[(w0 >>> 8) & 63], B64[(w0 >>> 2) & 63],
    B64[((w0 & 3) << 4) | ((w1 >>> 28) & 15)],
    B64[(w1 >>> 22) & 63], B64[(w1 >>> 16) & 63], B64[(w1 >>> 10) & 63], B64[(w1 >>> 4) & 63],
    B64[((w1 & 15) << 2) | ((w2 >>> 30) & 3)],
    B64[(w2 >>> 24) & 63], B64[(w2 >>> 18) & 63], B64[(w2 >>> 12) & 63], B64[(w2 >>> 6) & 63], B64[w2 & 63],
    B64[(w3 >>> 26) & 63], B64[(w3 >>> 20) & 63], B64[(w3 >>> 14) & 63], B64[(w3 >>> 8) & 63], B64[(w3 >>> 2) & 63],
    B64[(w3 & 3) << 4],
  );
}

/** Whether `text` is exactly the text of `slot`'s receipt. */
export function receiptMatches(bits: Int32Array, slot: number, text: string): boolean {
  return text.length === 22 && receiptText(bits, slot) === text;
}

function encodeBase32(value: number, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) DECODE[CROCKFORD.charCodeAt(i)] = i;

function decodeBase32(text: string, from: number, chars: number): number {
  let value = 0;
  for (let i = from; i < from + chars; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? DECODE[c] : -1;
    if (d < 0) return -1;
    value = value * 32 + d;
  }
  return value;
}

const TWO_32 = 2 ** 32;
export const MAX_SEQ = 2 ** 48 - 1;

/**
 * Server-made message ids: ULIDs (26 characters of Crockford base32) whose 48-bit time is
 * the creation millisecond and whose 80 "random" bits are the message's broker-wide sequence
 * number (48 bits) and its slot in the message table (32 bits). They sort by creation time
 * (then by sequence, so strictly in creation order within a process), are unique because the
 * sequence is, and name their own slot: looking one up needs no index.
 */
export class ServerIds {
  private lastMs = -1;
  private lastHi = -1;
  /** Character codes of the first 18 characters: 10 of time, 8 of seq's high bits. */
  private readonly codes = new Array<number>(18).fill(48);
  /** Those 18 characters as a string, made again only when they change. */
  private prefix = '';

  make(nowMs: number, seq: number, slot: number): string {
    const c = this.codes;
    let changed = false;
    if (nowMs !== this.lastMs) {
      this.lastMs = nowMs;
      putBase32(c, 0, nowMs, 10);
      changed = true;
    }
    const hi = Math.floor(seq / 256);
    if (hi !== this.lastHi) {
      this.lastHi = hi;
      putBase32(c, 10, hi, 8);
      changed = true;
    }
    if (changed) this.prefix = String.fromCharCode.apply(null, c);
    // The last 8 characters are 40 bits, seq's low 8 then the slot's 32: four 10-bit pairs.
    const low = seq % 256;
    return (
      this.prefix +
      PAIRS[(low << 2) | (slot >>> 30)] +
      PAIRS[(slot >>> 20) & 1023] +
      PAIRS[(slot >>> 10) & 1023] +
      PAIRS[slot & 1023]
    );
  }
}

/** The two base32 characters of every 10-bit value. */
const PAIRS = Array.from({ length: 1024 }, (_, i) => CROCKFORD[i >> 5] + CROCKFORD[i & 31]);

const CODES = Array.from(CROCKFORD, (ch) => ch.charCodeAt(0));

function putBase32(into: number[], at: number, value: number, chars: number): void {
  for (let i = at + chars - 1; i >= at; i--) {
    into[i] = CODES[value % 32];
    value = Math.floor(value / 32);
  }
}

const parsed = { time: 0, seq: 0, slot: 0 };

/**
 * The (time, seq, slot) a server id names, or null when `id` cannot be one. The object
 * returned is reused by the next call: read it at once. (Only the form is checked here; the
 * caller confirms the slot holds that message: its sequence number and creation time. The
 * time matters: sequence numbers go on from the highest live one after a restart, so an id
 * from before it can name the seq and slot of a message made after it.)
 */
export function parseServerId(id: string): { readonly time: number; readonly seq: number; readonly slot: number } | null {
  if (id.length !== 26) return null;
  const time = decodeBase32(id, 0, 10);
  const hi = decodeBase32(id, 10, 8);
  const lo = decodeBase32(id, 18, 8);
  if (time < 0 || hi < 0 || lo < 0) return null;
  parsed.time = time;
  parsed.seq = hi * 256 + Math.floor(lo / TWO_32);
  parsed.slot = lo % TWO_32;
  return parsed;
}
