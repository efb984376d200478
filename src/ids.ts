/**
 * Message ids and delivery receipts.
 *
 * Server-made ids are ULIDs that encode the message's sequence number and table slot
 * (see ServerIds). Receipts are 128 random bits from the CSPRNG (base64url, 22 characters):
 * unguessable, and a new one for every delivery.
 */
import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const POOL_SIZE = 4096;

/** Random bytes taken from a pool refilled in blocks: one CSPRNG call per 256 receipts. */
class RandomPool {
  private readonly pool = Buffer.allocUnsafe(POOL_SIZE);
  private offset = POOL_SIZE;

  take(n: number): number {
    if (this.offset + n > POOL_SIZE) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  get buffer(): Buffer {
    return this.pool;
  }
}

const pool = new RandomPool();

/**
 * Receipts are cut from one base64url text of a whole refill of random bytes: 22
 * characters (132 random bits) each, one CSPRNG call and one encoding per 248 receipts.
 */
const RECEIPT_CHARS = 22;
let receiptText = '';
let receiptPos = 0;

export function newReceipt(): string {
  if (receiptPos + RECEIPT_CHARS > receiptText.length) {
    const at = pool.take(POOL_SIZE);
    receiptText = pool.buffer.toString('base64url', at, at + POOL_SIZE);
    receiptPos = 0;
  }
  return receiptText.slice(receiptPos, (receiptPos += RECEIPT_CHARS));
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
