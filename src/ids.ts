/**
 * Message ids and delivery receipts.
 *
 * Ids are ULIDs (26 characters of Crockford base32: 48 bits of milliseconds, then 80 bits
 * that start random and count up within a millisecond), so they sort by creation time and
 * are unique within a process without any lookup. Receipts are 128 random bits from the
 * CSPRNG (base64url, 22 characters): unguessable, and a new one for every delivery.
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

export function newReceipt(): string {
  const at = pool.take(16);
  return pool.buffer.toString('base64url', at, at + 16);
}

function encodeBase32(value: number, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/**
 * A monotonic ULID factory. The 80 random bits are kept as two 40-bit halves; within one
 * millisecond the low half counts up (carrying into the high half), so ids made in the
 * same millisecond still sort in creation order.
 */
export class UlidFactory {
  private lastMs = -1;
  private timePart = '';
  private high = 0;
  private highPart = '';
  private low = 0;

  next(nowMs: number): string {
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.timePart = encodeBase32(nowMs, 10);
      const at = pool.take(10);
      const b = pool.buffer;
      this.high = b.readUIntBE(at, 5);
      this.low = b.readUIntBE(at + 5, 5) % 2 ** 39; // leave room to count up
      this.highPart = encodeBase32(this.high, 8);
    } else if (++this.low >= 2 ** 40) {
      this.low = 0;
      this.high = (this.high + 1) % 2 ** 40;
      this.highPart = encodeBase32(this.high, 8);
    }
    return this.timePart + this.highPart + encodeBase32(this.low, 8);
  }
}
