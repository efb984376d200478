/**
 * Log maintenance, run after writes when there is work, one step at a time:
 *
 * 1. Segments are deleted oldest first, and only the oldest: one is deleted once no live
 *    message has its full record in it, after a barrier made the records that ended them
 *    durable. Deleting only from the head keeps every tombstone and delivery record that
 *    could still matter: records in a kept segment only ever refer to messages whose full
 *    record is in it or later, or to ones already gone.
 * 2. Compaction: when dead bytes (records of messages that are gone, and old states) reach
 *    `ratio` times the live bytes (and at least a segment), the live messages of the oldest
 *    segment are moved forward: each full record is copied to the end of the log with its
 *    current state (delivery count, ready time, in flight), and the oldest segment, now dead,
 *    is deleted by step 1. The segment's live list says where its live records are; each
 *    step reads those within `stepBytes` (asynchronously) and moves them, so a step's
 *    synchronous work is bounded and the event loop never stalls for long
 *    (`stats.longestStepMs`). A record is moved only if it is still the message's current
 *    record when the step runs.
 *    Moves need room like new messages; on a full disk compaction waits.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logger';
import type { FileLayer } from './file-layer';
import type { LiveIndex, LiveMessage } from './live-index';
import { checkFrame, FRAME_HEADER_BYTES, patchEnqueued, RecordType } from './record-codec';
import type { Segment } from './segment';
import type { WalLog } from './wal-log';

export interface CompactorOptions {
  files: FileLayer;
  log: Logger;
  /** Compact when dead bytes reach this many times the live bytes. */
  ratio: number;
  /** Bytes of the oldest segment read and moved per step. */
  stepBytes: number;
}

export interface CompactionStats {
  /** Segments deleted. */
  deleted: number;
  /** Records moved forward, and their bytes. */
  moved: number;
  movedBytes: number;
  steps: number;
  /** The longest synchronous part of one step, in ms. */
  longestStepMs: number;
}

const NO_ROOM_BACKOFF_MS = 1000;

export class Compactor {
  readonly stats: CompactionStats = { deleted: 0, moved: 0, movedBytes: 0, steps: 0, longestStepMs: 0 };
  private running: Promise<void> | null = null;
  private stopped = false;
  private reading: Segment | null = null;
  private fd = -1;
  private buf: Buffer;
  private noRoomUntil = 0;

  constructor(
    private readonly wal: WalLog,
    private readonly index: LiveIndex,
    private readonly opts: CompactorOptions,
  ) {
    this.buf = Buffer.allocUnsafe(opts.stepBytes);
  }

  /** Starts maintenance if there is work and it is not running. */
  poke(): void {
    if (this.running === null && !this.stopped && this.hasWork()) this.running = this.run();
  }

  /** Resolves when maintenance has nothing left to do (tests, benchmarks). */
  async idle(): Promise<void> {
    this.poke();
    while (this.running !== null) {
      await this.running;
      this.poke();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private hasWork(): boolean {
    return this.wal.deletableHead() !== null || (this.shouldCompact() && performance.now() >= this.noRoomUntil);
  }

  /** Dead bytes reach `ratio` times the live ones, and a segment's worth (only whole segments are freed). */
  private shouldCompact(): boolean {
    if (this.wal.segments.length < 2) return false;
    const live = this.index.liveBytes;
    const dead = this.wal.usedBytes - live;
    return dead >= this.wal.segmentSize && dead >= this.opts.ratio * live;
  }

  private async run(): Promise<void> {
    const started = { ...this.stats };
    const t0 = performance.now();
    try {
      while (!this.stopped) {
        if (this.wal.deletableHead() !== null) {
          await this.wal.barrier();
          while (!this.stopped && this.wal.deletableHead() !== null) {
            if (this.reading === this.wal.segments[0]) await this.closeReader();
            await this.wal.deleteHead();
            this.stats.deleted++;
          }
          continue;
        }
        if (!this.shouldCompact() || !(await this.step())) break;
      }
    } catch (err) {
      this.opts.log.error({ err }, 'log maintenance failed; it will be retried after the next write');
    } finally {
      if (this.reading !== null && this.reading !== this.wal.segments[0]) await this.closeReader();
      this.running = null;
    }
    if (this.stats.moved > started.moved) {
      this.opts.log.info(
        {
          moved: this.stats.moved - started.moved,
          movedBytes: this.stats.movedBytes - started.movedBytes,
          deletedSegments: this.stats.deleted - started.deleted,
          ms: Math.round(performance.now() - t0),
          longestStepMs: Number(this.stats.longestStepMs.toFixed(2)),
        },
        'log compacted',
      );
    }
  }

  /**
   * Moves the next live records of the oldest segment, those within `stepBytes` of the first
   * (at least one), read in one go; false when it cannot go on.
   */
  private async step(): Promise<boolean> {
    const head = this.wal.segments[0];
    if (this.reading !== head) {
      await this.closeReader();
      // Everything appended before now is written: the oldest segment's file is complete.
      await this.wal.barrier();
      this.fd = await this.opts.files.open(head.path, 'r');
      this.reading = head;
    }
    const group: LiveMessage[] = [];
    const positions: number[] = [];
    const start = head.firstLive?.position ?? 0;
    let end = start;
    for (let m = head.firstLive; m !== null && (group.length === 0 || m.position + m.size - start <= this.opts.stepBytes); m = m.next) {
      group.push(m);
      positions.push(m.position);
      end = m.position + m.size;
    }
    if (group.length === 0) return true; // nothing live: deleted next
    if (this.buf.length < end - start) this.buf = Buffer.allocUnsafe(end - start);
    const got = await this.read(start, end - start);
    if (this.stopped || this.wal.segments[0] !== head) return true;

    const t0 = performance.now();
    let ok = got === end - start;
    let noRoom = false;
    for (let i = 0; i < group.length && ok; i++) {
      const m = group[i];
      if (m.segment !== head || m.position !== positions[i]) continue; // acked or moved while we read
      const at = positions[i] - start;
      if (checkFrame(this.buf, at, at + m.size) !== at + m.size || this.buf[at + FRAME_HEADER_BYTES] !== RecordType.Enqueued) {
        this.opts.log.error({ segment: head.path, offset: positions[i] }, 'compaction: a damaged record; stopping (restart with --wal-repair)');
        ok = false;
      } else if (!this.move(m, this.buf, at, at + m.size)) {
        noRoom = true;
        break;
      }
    }
    if (got !== end - start) this.opts.log.error({ segment: head.path, offset: start }, 'compaction: the segment is shorter than its records; stopping');
    const ms = performance.now() - t0;
    this.stats.steps++;
    if (ms > this.stats.longestStepMs) this.stats.longestStepMs = ms;
    if (noRoom) {
      // Wait for the allocator; on a full disk (or if that did not help) try again later.
      const before = this.wal.ahead;
      if (!this.wal.diskFull) await this.wal.allocated();
      if (this.wal.diskFull || this.wal.ahead <= before) ok = false;
    }
    if (!ok) this.noRoomUntil = performance.now() + NO_ROOM_BACKOFF_MS;
    return ok;
  }

  private move(m: LiveMessage, buf: Buffer, start: number, end: number): boolean {
    const size = end - start;
    if (!this.wal.hasRoom(size)) return false;
    const off = this.wal.append(size);
    if (off < 0) return false;
    const out = this.wal.buf;
    buf.copy(out, off, start, end);
    patchEnqueued(out, off, off + size, m.readyAt, m.deliveryCount, m.inFlight);
    this.index.move(m, this.wal.current, this.wal.lastPosition);
    this.stats.moved++;
    this.stats.movedBytes += size;
    return true;
  }

  private async read(position: number, length: number): Promise<number> {
    let got = 0;
    while (got < length) {
      const n = await this.opts.files.read(this.fd, this.buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  private async closeReader(): Promise<void> {
    const fd = this.fd;
    this.fd = -1;
    this.reading = null;
    if (fd >= 0) await this.opts.files.close(fd);
  }
}
