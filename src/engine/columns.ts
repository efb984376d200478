/**
 * Column storage for the engine's struct-of-arrays tables (message table, timer wheel,
 * payload store, large ready heaps), built so that growing never stops the server for long.
 *
 * A typed column lives in a memory of its own that grows in place: a shared WebAssembly
 * memory, which reserves address space up front (V8 reserves 10 GiB of it per memory, none
 * of it RAM: the OS maps a page when it is first written) and commits 64 KiB pages as it
 * grows. So growing a column copies nothing, costs O(added pages), and the new elements are
 * zero. Its views are ordinary typed arrays (as fast to index as any; a resizable
 * ArrayBuffer grows in place too, but Node 20's optimizing compiler adds about 20
 * instructions to every access of one, which cost the engine 12% of its throughput), and a
 * view taken before a growth stays valid, on the same memory, at its old length. Where no
 * address space can be reserved (`ulimit -v`), or past the 4 GiB a memory can hold, a
 * column is an ordinary ArrayBuffer twice its length, copied into one twice as large when it
 * outgrows it (so the table's fixed growth steps copy each element O(1) times).
 *
 * Sparse columns hold JS values most slots lack (client id and attributes, a lease, a
 * storage handle) in fixed-size chunks made the first time one of their slots is set: slots
 * that never had a value cost nothing, growing copies nothing, and the JS heap holds no array
 * as large as the table for the garbage collector to scan. A chunk stays once made (one
 * emptied and refilled by every delivery must not be reallocated each time).
 *
 * Invariants: a typed column's length is exactly what was asked, and its elements past the
 * old length are zero after a grow; a sparse column reads undefined for every slot never set,
 * or cleared since.
 */

export type TypedColumn = Float64Array | Int32Array | Uint8Array;

interface ColumnType<C extends TypedColumn> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): C;
  readonly BYTES_PER_ELEMENT: number;
}

/** The part of WebAssembly.Memory used here (lib ES2022 does not declare WebAssembly). */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory };

const PAGE = 65536;
/** The most pages a WebAssembly memory can have (4 GiB). */
const MAX_PAGES = 65536;

/**
 * Where each column starts in its memory. Memories start page-aligned, so without this the
 * same slot of every column would fall in the same cache set, and the twenty-odd columns one
 * operation touches would evict each other from the L1 and L2 caches (a measured 10% of the
 * engine's throughput). Offsets of k * (4 KiB + 64 B) for k < 31 differ in the cache line
 * they map to within 4 KiB (L1's set span) and within 128 KiB (L2's).
 */
const STAGGER_BYTES = 4096 + 64;
const STAGGERS = 31;
let staggered = 0;

/** Each in-place column's memory and where in it the column starts. */
const places = new WeakMap<TypedColumn, { memory: WasmMemory; offset: number }>();

/** False once a memory could not be had: each failed try costs V8 ~50 ms of GCs and retries. */
let reserving = true;

const pages = (bytes: number): number => Math.max(1, Math.ceil(bytes / PAGE));

function view<C extends TypedColumn>(type: ColumnType<C>, place: { memory: WasmMemory; offset: number }, length: number): C {
  const column = new type(place.memory.buffer, place.offset, length);
  places.set(column, place);
  return column;
}

/**
 * A typed column of `length` zeros that grows in place up to `reserve` elements (rounded up
 * to whole 64 KiB pages; by default as far as a memory goes).
 */
export function newColumn<C extends TypedColumn>(type: ColumnType<C>, length: number, reserve = Infinity): C {
  const bytes = type.BYTES_PER_ELEMENT;
  const offset = (staggered++ % STAGGERS) * STAGGER_BYTES;
  const maximum = Math.min(MAX_PAGES, pages(offset + Math.max(length, reserve) * bytes));
  const initial = pages(offset + length * bytes);
  if (reserving && initial <= maximum) {
    try {
      return view(type, { memory: new WebAssembly.Memory({ initial, maximum, shared: true }), offset }, length);
    } catch {
      reserving = false; // no address space to reserve (ulimit -v): ordinary buffers from now on
    }
  }
  // Twice the length, so that growing by steps copies O(1) times per element, not per step.
  return new type(new ArrayBuffer(2 * length * bytes), 0, length);
}

/**
 * `column` grown to `length` elements (the new ones zero): a longer view of the same memory
 * while its reservation has room (or of the same ordinary buffer while it has room), else a
 * copy (in a memory, or a buffer, twice the length).
 */
export function growColumn<C extends TypedColumn>(column: C, length: number): C {
  if (length <= column.length) return column;
  const type = column.constructor as ColumnType<C>;
  const bytes = type.BYTES_PER_ELEMENT;
  const place = places.get(column);
  if (place !== undefined) {
    const have = place.memory.buffer.byteLength / PAGE;
    const need = pages(place.offset + length * bytes);
    try {
      if (need > have) place.memory.grow(need - have);
      return view(type, place, length);
    } catch {
      // past its maximum: copied below
    }
  } else if (length * bytes <= column.buffer.byteLength) {
    return new type(column.buffer, 0, length); // zero past the old length: never written
  }
  const moved = newColumn(type, length, 2 * length);
  (moved as Int32Array).set(column as Int32Array);
  return moved;
}

/** How many slots a sparse column's chunk holds (2^12: 32 KiB of pointers). */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** A column of JS values that most slots lack, in chunks made on first use. */
export class SparseColumn<T> {
  private readonly chunks: ((T | undefined)[] | undefined)[] = [];

  get(slot: number): T | undefined {
    const chunk = this.chunks[slot >>> CHUNK_BITS];
    return chunk === undefined ? undefined : chunk[slot & MASK];
  }

  /** Sets (or, with undefined, clears) the value of `slot`. */
  set(slot: number, value: T | undefined): void {
    const i = slot >>> CHUNK_BITS;
    let chunk = this.chunks[i];
    if (chunk === undefined) {
      if (value === undefined) return;
      while (this.chunks.length < i) this.chunks.push(undefined); // no holes: the directory stays packed
      chunk = this.chunks[i] = new Array<T | undefined>(CHUNK).fill(undefined);
    }
    chunk[slot & MASK] = value;
  }

  clear(slot: number): void {
    const chunk = this.chunks[slot >>> CHUNK_BITS];
    if (chunk !== undefined) chunk[slot & MASK] = undefined;
  }

  /** Chunks made so far (for tests and memory figures). */
  get chunkCount(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n++;
    return n;
  }
}
