/**
 * Message payloads, off the JS heap: packed into large slabs (Buffers) by a bump allocator,
 * addressed per slot by (slab, offset, length) columns, which grow in place (columns.ts). A
 * 256-byte payload costs 256 bytes plus 12 bytes of columns, and no object.
 *
 * Invariants: slabs are append-only: bytes once written are never overwritten, so a view
 * handed out (a subarray) stays valid as long as someone holds it, even after the message is
 * gone or its payload moved. A slab is released when nothing live is in it (unless it is the
 * one being filled). Payloads of `dedicatedBytes` or more get a slab of their own. A slab
 * whose live bytes fall under a quarter of it becomes a compaction candidate; while the
 * bytes held in slabs exceed `compactRatio` times the live bytes (and `compactMinBytes`),
 * each drop moves the live payloads of one candidate (found through the slab's own list of
 * slots) into the active slab and releases it. So a few long-lived messages cannot pin many
 * slabs, and no step costs more than one slab's worth of copying.
 */
import { growColumn, newColumn } from './columns';

export interface PayloadStoreOptions {
  slabBytes: number;
  dedicatedBytes: number;
  compactRatio: number;
  compactMinBytes: number;
}

export const DEFAULT_PAYLOAD_OPTIONS: PayloadStoreOptions = {
  slabBytes: 1 << 20,
  dedicatedBytes: 16 << 10,
  compactRatio: 2,
  compactMinBytes: 8 << 20,
};

const EMPTY = Buffer.alloc(0);

export class PayloadStore {
  private slabOf = newColumn(Int32Array, 0);
  private offsetOf = newColumn(Int32Array, 0);
  private lengthOf = newColumn(Int32Array, 0);
  private readonly slabs: (Buffer | null)[] = [];
  /** Live payload bytes per slab. */
  private readonly liveBytes: number[] = [];
  /** Slots whose payload went into each slab (some may have moved on since). */
  private readonly slabSlots: (Int32Array | null)[] = [];
  private readonly slabSlotCount: number[] = [];
  /** Free slab indexes (released slabs' entries are reused). */
  private readonly freeSlabs: number[] = [];
  /** Slabs that fell under a quarter live, waiting to be compacted. */
  private readonly sparse: number[] = [];
  private active = -1;
  private activeUsed = 0;
  private heldBytes = 0;
  private live = 0;
  private readonly options: PayloadStoreOptions;

  constructor(options: Partial<PayloadStoreOptions> = {}) {
    this.options = { ...DEFAULT_PAYLOAD_OPTIONS, ...options };
  }

  /** Makes room for slots below `capacity`: in place (columns.ts), nothing is copied. */
  grow(capacity: number): void {
    this.slabOf = growColumn(this.slabOf, capacity);
    this.offsetOf = growColumn(this.offsetOf, capacity);
    this.lengthOf = growColumn(this.lengthOf, capacity);
  }

  /** Bytes held in slabs (what the store costs) and live payload bytes. */
  get stats(): { heldBytes: number; liveBytes: number; slabs: number } {
    return { heldBytes: this.heldBytes, liveBytes: this.live, slabs: this.slabs.length - this.freeSlabs.length };
  }

  /** Copies `bytes` in as the payload of `slot`. */
  put(slot: number, bytes: Uint8Array): void {
    const n = bytes.length;
    this.lengthOf[slot] = n;
    if (n === 0) {
      this.slabOf[slot] = -1;
      return;
    }
    let slab: number;
    let offset: number;
    if (n >= this.options.dedicatedBytes) {
      slab = this.newSlab(n);
      offset = 0;
    } else {
      if (this.active < 0 || this.activeUsed + n > (this.slabs[this.active] as Buffer).length) {
        const full = this.active;
        this.active = this.newSlab(this.options.slabBytes);
        this.activeUsed = 0;
        if (full >= 0) this.retire(full);
      }
      slab = this.active;
      offset = this.activeUsed;
      this.activeUsed += n;
    }
    (this.slabs[slab] as Buffer).set(bytes, offset);
    this.slabOf[slot] = slab;
    this.offsetOf[slot] = offset;
    this.liveBytes[slab] += n;
    this.live += n;
    this.remember(slab, slot);
  }

  /** The payload of `slot`, as a view (no copy). */
  view(slot: number): Buffer {
    const slab = this.slabOf[slot];
    if (slab < 0) return EMPTY;
    const offset = this.offsetOf[slot];
    return (this.slabs[slab] as Buffer).subarray(offset, offset + this.lengthOf[slot]);
  }

  length(slot: number): number {
    return this.lengthOf[slot];
  }

  /** The payload of `slot` is no longer needed. */
  drop(slot: number): void {
    const slab = this.slabOf[slot];
    if (slab < 0) return;
    const n = this.lengthOf[slot];
    this.slabOf[slot] = -1;
    this.live -= n;
    const left = (this.liveBytes[slab] -= n);
    if (slab === this.active) return;
    if (left === 0) {
      this.releaseSlab(slab);
      return;
    }
    const size = (this.slabs[slab] as Buffer).length;
    if (left < size / 4 && left + n >= size / 4) this.sparse.push(slab);
    if (this.sparse.length > 0 && this.heldBytes > this.options.compactMinBytes && this.heldBytes > this.options.compactRatio * this.live) {
      this.compact(this.sparse.shift() as number);
    }
  }

  /** A slab stops being the active one: release it if empty, note it if sparse. */
  private retire(slab: number): void {
    const left = this.liveBytes[slab];
    if (left === 0) this.releaseSlab(slab);
    else if (left < (this.slabs[slab] as Buffer).length / 4) this.sparse.push(slab);
  }

  /** Moves the live payloads of `victim` into the active slab and releases it. */
  private compact(victim: number): void {
    const slots = this.slabSlots[victim];
    if (slots === null || victim === this.active) return;
    const count = this.slabSlotCount[victim];
    for (let i = 0; i < count; i++) {
      const slot = slots[i];
      if (this.slabOf[slot] !== victim) continue;
      const bytes = this.view(slot);
      this.live -= bytes.length;
      this.liveBytes[victim] -= bytes.length;
      this.put(slot, bytes);
    }
    this.releaseSlab(victim);
  }

  private remember(slab: number, slot: number): void {
    let list = this.slabSlots[slab] as Int32Array;
    const count = this.slabSlotCount[slab];
    if (count === list.length) {
      const bigger = new Int32Array(list.length * 2);
      bigger.set(list);
      this.slabSlots[slab] = list = bigger;
    }
    list[count] = slot;
    this.slabSlotCount[slab] = count + 1;
  }

  private newSlab(bytes: number): number {
    const buf = Buffer.allocUnsafeSlow(bytes);
    this.heldBytes += bytes;
    const reuse = this.freeSlabs.pop();
    const slots = new Int32Array(Math.max(4, Math.min(1024, bytes >> 8)));
    if (reuse !== undefined) {
      this.slabs[reuse] = buf;
      this.liveBytes[reuse] = 0;
      this.slabSlots[reuse] = slots;
      this.slabSlotCount[reuse] = 0;
      return reuse;
    }
    this.slabs.push(buf);
    this.liveBytes.push(0);
    this.slabSlots.push(slots);
    this.slabSlotCount.push(0);
    return this.slabs.length - 1;
  }

  private releaseSlab(slab: number): void {
    this.heldBytes -= (this.slabs[slab] as Buffer).length;
    this.slabs[slab] = null;
    this.slabSlots[slab] = null;
    this.freeSlabs.push(slab);
    const i = this.sparse.indexOf(slab);
    if (i >= 0) this.sparse.splice(i, 1);
  }
}
