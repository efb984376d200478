/**
 * The log: an ordered list of segments, appended to at the end, with group commit.
 *
 * Appending is synchronous: a record is encoded straight into an in-memory buffer (`append`
 * returns where). Everything appended in one turn of the event loop goes out together on
 * setImmediate: one write per segment touched (usually one) on libuv's threadpool. With
 * `fsync always` segments are opened write-through (O_DSYNC, file-layer.ts), so that write
 * returns with the records on disk; where the platform cannot, one fdatasync follows it.
 * Up to `writesInFlight` batches are on their way to disk at once (so the disk stays busy
 * while the event loop handles the batch before; the next batch accumulates in another
 * buffer meanwhile), but only batches within one segment, and none
 * while a segment left behind is being made durable. Batches are confirmed in the order
 * they were appended, whatever order their writes finish in: a batch is confirmed once it
 * and every batch before it are done, so a confirmed record never has an unconfirmed one
 * before it in the log (a crash can leave a hole only in front of records nobody was told
 * about; replay discards everything after the first gap of the last segment).
 * `commit()` returns the promise of the batch holding the latest record (null when
 * everything is already done): with `always` it resolves once the batch is on disk; with
 * `interval` and `never` once it is written to the OS (so it survives the process, not a
 * power cut), fdatasync running every interval or never (and at close).
 *
 * Space. Segments are preallocated (zeros written), so writes inside them cannot fail for
 * lack of space; records never straddle segments. `ahead` is the preallocated space not yet
 * used (the current segment's rest plus ready spares). `reserved` (the storage's claim)
 * is what records that may not be refused will need (tombstones of live messages, deletions
 * of live queues); `committed` adds what entering each spare costs (the queue table every
 * segment starts with, and the unusable rest of the segment left behind). A record that may
 * be refused (a new message, a new queue, a compaction move) is taken only while
 * `headroom` bytes stay free beyond that; one without a reservation (a delivery, a nack) only
 * while the rest covers it. A background allocator keeps a whole segment of room ahead of
 * `committed + headroom`; when the disk is full it retries every second and whenever a
 * segment is deleted.
 *
 * A failed write or fdatasync fails the storage for good (STORAGE_FAILED on every commit and
 * every new message): after a failed fsync the kernel may have dropped the data, so the only
 * safe way on is a restart, which replays what is on disk.
 */
import { join } from 'node:path';
import { CoraError } from '../../errors';
import type { WalConfig } from '../../config';
import type { Logger } from '../../logger';
import type { FileLayer, OpenFlags } from './file-layer';
import { encodeSegmentHeader, PREALLOC_SUFFIX, Segment, SEGMENT_HEADER_BYTES, segmentFileName } from './segment';

export type FsyncPolicy = WalConfig['fsync'];

export interface WalLogOptions {
  dir: string;
  files: FileLayer;
  /** Size of new segments. */
  segmentSize: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** How many batches may be on their way to disk at once (at least 1). */
  writesInFlight: number;
  headroom: number;
  log: Logger;
  /** What records that may not be refused will need (kept by the storage's live index). */
  space: SpaceClaims;
  /** Appends the records every segment starts with (the queue table); called on entering one. */
  onNewSegment(): void;
  /** A batch was written (maintenance may have work). */
  onFlushed(): void;
  /** `failure` was set or `diskFull` changed. */
  onHealthChange(): void;
}

export interface SpaceClaims {
  /** Bytes of records reserved ahead (tombstones of live messages, deletions of live queues). */
  readonly reserved: number;
  /** Bytes of the records every segment starts with. */
  readonly snapshotBytes: number;
}

/** What entering a segment may leave unused at the end of the last one: more than any short record. */
const ROTATION_SLACK = 256;
const BUFFER_BYTES = 1024 * 1024;
const ALLOCATE_RETRY_MS = 1000;

/** The records of one write: where they go. */
interface Chunk {
  segment: Segment;
  bufStart: number;
  bufEnd: number;
  position: number;
}

class Batch {
  readonly chunks: Chunk[] = [];
  /** The buffer its records are in (set when it starts). */
  buf: Buffer | null = null;
  /** Its write (and fdatasync) finished; confirmed once every batch before it is too. */
  done = false;
  /** It makes a segment left behind durable before writing (nothing may overlap it). */
  retires = false;
  promise: Promise<void> | null = null;
  resolve: (() => void) | null = null;
  reject: ((err: Error) => void) | null = null;

  /** The one segment all its records go to (null when they go to more than one). */
  get onlySegment(): Segment | null {
    const first = this.chunks[0].segment;
    for (let i = 1; i < this.chunks.length; i++) if (this.chunks[i].segment !== first) return null;
    return first;
  }
}

export class WalLog {
  /** Oldest first; the last one is `current`. */
  readonly segments: Segment[] = [];
  /** Preallocated segments waiting to be entered, lowest number first. */
  readonly spares: Segment[] = [];
  current!: Segment;
  /** Where the last appended record went. */
  lastPosition = 0;
  /** Sum of `used` over `segments`. */
  usedBytes = 0;
  failure: CoraError | null = null;

  /** The buffer records are appended to; valid until the next append (it may grow). */
  buf: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private len = 0;
  /** Buffers of finished batches, for the next ones. */
  private readonly spareBufs: Buffer[] = [];
  private open = new Batch();
  /** Batches started and not yet confirmed, oldest first. */
  private readonly inFlight: Batch[] = [];
  private flushScheduled = false;
  private readonly dirty = new Set<Segment>();
  /** Segments left behind whose last records may not be written and durable yet. */
  private readonly retiring: Segment[] = [];
  private syncing: Promise<void> | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private spareBytes = 0;
  private nextNum = 1;
  private allocating: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The last allocation failed with ENOSPC (until one succeeds). */
  diskFull = false;
  private closed = false;
  private readonly opts: WalLogOptions;
  /** Segments are appended to through write-through files: a finished write is durable. */
  private readonly writeThrough: boolean;

  constructor(opts: WalLogOptions) {
    this.opts = opts;
    this.writeThrough = opts.fsync === 'always' && opts.files.writeThrough;
  }

  /** How a segment is opened to append to it. */
  private get appendFlags(): OpenFlags {
    return this.writeThrough ? 'r+sync' : 'r+';
  }

  /**
   * Starts appending after what replay found: `segments` (oldest first, the last one to be
   * appended to; each with `end` set) and `spares` (empty segments after it). With no
   * segment at all, makes the first one. Resolves once there is room for new messages (or
   * the disk is full, which is logged).
   */
  async start(segments: Segment[], spares: Segment[]): Promise<void> {
    const { files } = this.opts;
    for (const s of [...segments, ...spares]) this.nextNum = Math.max(this.nextNum, s.num + 1);
    this.segments.push(...segments);
    for (const s of segments) this.usedBytes += s.used;
    for (const s of spares) {
      s.fd = await files.open(s.path, this.appendFlags);
      this.spares.push(s);
      this.spareBytes += s.size - SEGMENT_HEADER_BYTES;
    }
    if (this.segments.length === 0) {
      await this.allocateSpare();
      this.enter();
    } else {
      this.current = this.segments[this.segments.length - 1];
      this.current.fd = await files.open(this.current.path, this.appendFlags);
    }
    if (this.opts.fsync === 'interval') {
      this.intervalTimer = setInterval(() => void this.syncDirty().catch(() => {}), this.opts.fsyncIntervalMs);
      this.intervalTimer.unref();
    }
    this.ensureAhead();
    await this.allocated();
  }

  // ---- space ----

  /** Size of new segments. */
  get segmentSize(): number {
    return this.opts.segmentSize;
  }

  /** Preallocated space not yet used. */
  get ahead(): number {
    return this.current.free + this.spareBytes;
  }

  /** Space records that may not be refused can still need. */
  get committed(): number {
    const { reserved, snapshotBytes } = this.opts.space;
    return reserved + (this.spares.length + 1) * (snapshotBytes + ROTATION_SLACK);
  }

  /** What appending `size` bytes uses up, counting a move to the next segment. */
  private costOf(size: number): number {
    const free = this.current.free;
    return size <= free ? size : free + this.opts.space.snapshotBytes + size;
  }

  /**
   * Whether a record that may be refused fits, keeping the headroom; `extraCommitted` is
   * what it adds to `committed` (a new queue's deletion record and table entry).
   */
  hasRoom(size: number, extraCommitted = 0): boolean {
    return this.ahead - this.committed - extraCommitted - this.costOf(size) >= this.opts.headroom;
  }

  /** Whether a record without a reservation (a delivery, a nack) fits. */
  hasRoomUnreserved(size: number): boolean {
    return this.ahead - this.committed - this.costOf(size) >= 0;
  }

  // ---- appending ----

  /**
   * Makes room for a frame of `size` bytes and returns its offset in `buf` (read `buf`
   * after this call); the caller encodes the frame there at once. The record lands in
   * `current` at `lastPosition`. Returns -1 when no preallocated segment can take it
   * (callers check room first; this only happens for records that were not reserved).
   */
  append(size: number): number {
    if (size > this.current.free) {
      if (this.spares.length === 0 || size > this.spares[0].free - this.opts.space.snapshotBytes) return -1;
      this.enter();
    }
    const off = this.len;
    if (off + size > this.buf.length) this.grow(off + size);
    this.len = off + size;
    const seg = this.current;
    const chunks = this.open.chunks;
    if (chunks.length === 0 || chunks[chunks.length - 1].segment !== seg) {
      chunks.push({ segment: seg, bufStart: off, bufEnd: 0, position: seg.end });
    }
    this.lastPosition = seg.end;
    seg.end += size;
    this.usedBytes += size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return off;
  }

  /** Moves appending to the next spare, which starts with the queue table. */
  private enter(): void {
    const next = this.spares.shift() as Segment;
    this.spareBytes -= next.size - SEGMENT_HEADER_BYTES;
    if (this.segments.length > 0) this.retiring.push(this.current);
    this.segments.push(next);
    this.current = next;
    this.opts.onNewSegment();
    this.ensureAhead();
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  // ---- group commit ----

  /** Resolves when everything appended so far is committed (see the header); null if it is. */
  commit(): Promise<void> | null {
    if (this.failure !== null) return Promise.reject(this.failure);
    const b = this.len > 0 ? this.open : this.inFlight.length > 0 ? this.inFlight[this.inFlight.length - 1] : null;
    if (b === null) return null;
    return (b.promise ??= new Promise<void>((resolve, reject) => {
      b.resolve = resolve;
      b.reject = reject;
    }));
  }

  /** Resolves when everything appended so far is on disk, whatever the fsync policy. */
  async barrier(): Promise<void> {
    await this.commit();
    if (this.opts.fsync !== 'always') await this.syncDirty();
  }

  /** Starts the open batch when it may go now (see the header); else a finished batch calls again. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.len === 0 || this.failure !== null || !this.mayStart(this.open)) return;
    const batch = this.open;
    const chunks = batch.chunks;
    for (let i = 0; i < chunks.length; i++) chunks[i].bufEnd = i + 1 < chunks.length ? chunks[i + 1].bufStart : this.len;
    batch.buf = this.buf;
    batch.retires = this.retiring.length > 0;
    this.open = new Batch();
    this.buf = this.spareBufs.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.len = 0;
    this.inFlight.push(batch);
    void this.write(batch);
  };

  /** Whether `batch` may start beside the batches in flight: same single segment, no segment being retired. */
  private mayStart(batch: Batch): boolean {
    const flying = this.inFlight;
    if (flying.length === 0) return true;
    if (flying.length >= this.opts.writesInFlight || this.retiring.length > 0) return false;
    const seg = batch.onlySegment;
    if (seg === null) return false;
    for (const f of flying) if (f.retires || f.onlySegment !== seg) return false;
    return true;
  }

  private async write(batch: Batch): Promise<void> {
    const { files, fsync } = this.opts;
    const buf = batch.buf as Buffer;
    try {
      for (const c of batch.chunks) {
        // A segment left behind is made durable before the next one gets records, so after
        // a crash only the last segment with records can end in a torn write.
        while (this.retiring.length > 0 && this.retiring[0] !== c.segment) await this.retire(this.retiring.shift() as Segment);
        await files.write(c.segment.fd, buf, c.bufStart, c.bufEnd - c.bufStart, c.position);
      }
      const last = batch.chunks[batch.chunks.length - 1].segment;
      if (fsync !== 'always') this.dirty.add(last);
      else if (!this.writeThrough) await files.datasync(last.fd);
    } catch (err) {
      this.fail(err as Error);
    }
    batch.done = true;
    batch.buf = null;
    if (buf.length <= 8 * BUFFER_BYTES && this.spareBufs.length < this.opts.writesInFlight) this.spareBufs.push(buf);
    this.confirm();
    if (this.len > 0 && !this.flushScheduled) this.flush();
    if (this.failure === null) {
      this.ensureAhead(); // reservations grew with the batch
      this.opts.onFlushed();
    }
  }

  /**
   * Confirms the finished batches at the head of the line (after a failure, rejects them:
   * nothing after a failed write is confirmed). Every batch in flight finishes, so none waits forever.
   */
  private confirm(): void {
    const flying = this.inFlight;
    while (flying.length > 0 && flying[0].done) {
      const batch = flying.shift() as Batch;
      if (this.failure === null) batch.resolve?.();
      else batch.reject?.(this.failure);
    }
  }

  /** A segment no longer appended to got its last records: make them durable and close it. */
  private async retire(seg: Segment): Promise<void> {
    const fd = seg.fd;
    if (fd < 0) return;
    seg.fd = -1;
    this.dirty.delete(seg);
    await this.opts.files.datasync(fd);
    await this.opts.files.close(fd);
  }

  private syncDirty(): Promise<void> {
    if (this.syncing !== null) return this.syncing.then(() => this.syncDirty());
    if (this.dirty.size === 0 || this.failure !== null) return Promise.resolve();
    const segs = [...this.dirty];
    this.dirty.clear();
    this.syncing = (async () => {
      try {
        for (const s of segs) if (s.fd >= 0) await this.opts.files.datasync(s.fd);
      } catch (err) {
        this.fail(err as Error);
        throw this.failure;
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    this.failure = new CoraError(
      'STORAGE_FAILED',
      `the write-ahead log could not be written (${code}); changes not yet confirmed may be lost, and the server must be restarted`,
    );
    this.opts.log.error({ err }, 'write-ahead log write failed: refusing every change until the server is restarted');
    this.open.reject?.(this.failure);
    this.opts.onHealthChange();
  }

  // ---- segments: allocation and deletion ----

  /** Starts allocating spares when there is less than a segment of room beyond what is committed. */
  ensureAhead(): void {
    if (this.allocating !== null || this.retryTimer !== null || this.closed) return;
    const target = this.committed + this.opts.headroom + this.opts.segmentSize;
    if (this.ahead >= target) return;
    this.allocating = this.allocateSpare().then(
      () => {
        this.allocating = null;
        if (this.diskFull) {
          this.diskFull = false;
          this.opts.log.info('disk space available again: accepting new messages');
          this.opts.onHealthChange();
        }
        this.ensureAhead();
      },
      (err: NodeJS.ErrnoException) => {
        this.allocating = null;
        if (this.closed) return;
        if (!this.diskFull) {
          this.diskFull = err.code === 'ENOSPC';
          this.opts.log.warn(
            { err, code: err.code },
            err.code === 'ENOSPC'
              ? 'disk full: cannot preallocate a log segment; new messages are refused (STORAGE_FULL) until space is freed'
              : 'cannot preallocate a log segment; retrying',
          );
          if (this.diskFull) this.opts.onHealthChange();
        }
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.ensureAhead();
        }, ALLOCATE_RETRY_MS);
        this.retryTimer.unref();
      },
    );
  }

  /** Creates the next segment under a temporary name, fills it, writes its header, renames it. */
  private async allocateSpare(): Promise<void> {
    const { files, dir, segmentSize } = this.opts;
    const num = this.nextNum;
    const path = join(dir, segmentFileName(num));
    const tmp = path + PREALLOC_SUFFIX;
    let fd = await files.open(tmp, 'wx');
    try {
      await files.allocate(fd, segmentSize);
      const header = encodeSegmentHeader(num);
      await files.write(fd, header, 0, header.length, 0);
      await files.datasync(fd);
      await files.rename(tmp, path);
      await files.syncDir(dir);
    } catch (err) {
      await files.close(fd).catch(() => {});
      await files.unlink(tmp).catch(() => {});
      throw err;
    }
    if (this.writeThrough) {
      // Filled without write-through (one fdatasync for the whole segment); appended to with it.
      const created = fd;
      try {
        fd = await files.open(path, 'r+sync');
      } finally {
        await files.close(created);
      }
    }
    this.nextNum = num + 1;
    const seg = new Segment(num, path, segmentSize);
    seg.fd = fd;
    if (this.closed) {
      await files.close(fd);
      return;
    }
    this.spares.push(seg);
    this.spareBytes += segmentSize - SEGMENT_HEADER_BYTES;
  }

  /** Resolves when no segment is being allocated (tests, benchmarks). */
  async allocated(): Promise<void> {
    while (this.allocating !== null) await this.allocating;
  }

  /** The oldest segment when nothing live is left in it and it is not appended to. */
  deletableHead(): Segment | null {
    const head = this.segments[0];
    return head !== this.current && head.liveCount === 0 ? head : null;
  }

  /**
   * Deletes the oldest segment. The caller made sure (barrier) that the records which made
   * it dead are on disk, so a crash cannot bring back what they removed.
   */
  async deleteHead(): Promise<void> {
    const head = this.segments.shift() as Segment;
    this.usedBytes -= head.used;
    const retiring = this.retiring.indexOf(head);
    if (retiring >= 0) this.retiring.splice(retiring, 1);
    if (head.fd >= 0) {
      const fd = head.fd;
      head.fd = -1;
      this.dirty.delete(head);
      await this.opts.files.close(fd);
    }
    await this.opts.files.unlink(head.path);
    await this.opts.files.syncDir(this.opts.dir);
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.ensureAhead();
  }

  /** Writes what is pending, makes it durable, closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    await this.allocated();
    try {
      await this.commit();
      if (this.opts.fsync !== 'always') await this.syncDirty();
    } finally {
      for (const s of [...this.segments, ...this.spares]) {
        if (s.fd >= 0) {
          const fd = s.fd;
          s.fd = -1;
          await this.opts.files.close(fd).catch(() => {});
        }
      }
    }
  }
}
