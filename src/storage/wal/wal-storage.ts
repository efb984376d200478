/**
 * Durable storage: the engine's journal written to a write-ahead log in a data directory.
 *
 * open(): lock the directory, replay the log (replay.ts), start appending (wal-log.ts), and
 * restore every queue (in creation order) and every live message (in enqueue order) into the
 * broker. Journal calls encode one record each straight into the log's buffer and keep the
 * live index (live-index.ts) in step; maintenance (compactor.ts) runs after writes.
 *
 * Space rules (see wal-log.ts): `enqueued` and `queueCreated` refuse with STORAGE_FULL,
 * before anything changes, when the log has no room left beyond what is reserved; a new
 * message reserves its tombstone and a new queue its deletion record, so acks, purges,
 * dead-letter moves and deletions never fail for lack of space. Deliveries and nacks are not
 * reserved: on a disk so full that even they do not fit, they are not journaled (logged),
 * and after a restart such a message may come back with a lower delivery count or without
 * its nack delay. After a write failure (STORAGE_FAILED) nothing more is journaled and
 * every new message and every commit is refused.
 */
import { performance } from 'node:perf_hooks';
import type { QueueSettings } from '../../engine/queue';
import type { WalConfig } from '../../config';
import { CoraError } from '../../errors';
import type { Logger } from '../../logger';
import type { Journal, JournaledMessage, RestoredMessage, RestoreTarget, Storage, StorageHealth } from '../journal';
import { Compactor, type CompactionStats } from './compactor';
import { lockDataDir, type LockHandle } from './dir-lock';
import { nodeFiles, type FileLayer } from './file-layer';
import { LiveIndex, LiveMessage, WalQueue } from './live-index';
import {
  type EnqueuedRecord,
  DELIVERED_SIZE,
  enqueuedSize,
  NOT_LOADED,
  QUEUE_DELETED_SIZE,
  REMOVED_SIZE,
  REQUEUED_SIZE,
  writeDelivered,
  writeEnqueued,
  writeQueue,
  writeQueueDeleted,
  writeRemoved,
  writeRequeued,
} from './record-codec';
import { replay } from './replay';
import { WalLog } from './wal-log';

/** The log's settings (src/config.ts: --fsync, --wal-*), where it lives, and how it logs. */
export interface WalOptions extends WalConfig {
  dir: string;
  log: Logger;
  /** The file layer (tests swap it to fail). */
  files?: FileLayer;
}

export interface WalStats {
  segments: number;
  usedBytes: number;
  liveBytes: number;
  reservedBytes: number;
  /** Deliveries and nacks not journaled for lack of space. */
  unjournaled: number;
  compaction: CompactionStats;
}

export class WalStorage implements Storage, Journal {
  readonly kind = 'wal';
  readonly journal: Journal = this;
  private index = new LiveIndex();
  private wal: WalLog | null = null;
  private compactor: Compactor | null = null;
  private lock: LockHandle | null = null;
  private unjournaled = 0;
  private readonly healthListeners: (() => void)[] = [];
  private readonly files: FileLayer;
  private readonly log: Logger;

  constructor(private readonly opts: WalOptions) {
    this.files = opts.files ?? nodeFiles;
    this.log = opts.log;
  }

  async open(target: RestoreTarget): Promise<void> {
    const { dir, repair } = this.opts;
    const t0 = performance.now();
    await this.files.mkdir(dir);
    this.lock = lockDataDir(dir);
    try {
      const found = await replay({ dir, files: this.files, repair, log: this.log });
      this.index = found.index;
      const wal = new WalLog({
        dir,
        files: this.files,
        segmentSize: this.opts.segmentSize,
        fsync: this.opts.fsync,
        fsyncIntervalMs: this.opts.fsyncIntervalMs,
        writesInFlight: this.opts.writesInFlight,
        headroom: this.opts.headroom,
        log: this.log,
        space: this.index,
        onNewSegment: () => this.writeQueueTable(),
        onFlushed: () => this.compactor?.poke(),
        onHealthChange: () => this.healthListeners.forEach((l) => l()),
      });
      this.wal = wal;
      await wal.start(found.segments, found.spares);
      this.compactor = new Compactor(wal, this.index, {
        files: this.files,
        log: this.log,
        ratio: this.opts.compactRatio,
        stepBytes: this.opts.compactStepBytes,
      });
      this.restore(target, found.messages);
      const messages = found.messages.length;
      this.log.info(
        {
          dataDir: dir,
          fsync: this.opts.fsync,
          segments: wal.segments.length,
          records: found.records,
          bytes: found.bytes,
          queues: this.index.byNum.size,
          messages,
          ms: Math.round(performance.now() - t0),
        },
        'write-ahead log replayed',
      );
      this.compactor.poke();
    } catch (err) {
      await this.wal?.close().catch(() => {});
      this.wal = null;
      this.lock.release();
      this.lock = null;
      throw err;
    }
  }

  /** Hands every live queue (in creation order) and message (in enqueue order) to the broker. */
  private restore(target: RestoreTarget, all: LiveMessage[]): void {
    for (const q of [...this.index.byNum.values()].sort((a, b) => a.num - b.num)) target.restoreQueue(q.name, q.settings, q.createdAt);
    // One object, refilled for each message: the broker copies what it keeps.
    const out: RestoredMessage = { id: '', seq: 0, priority: 0, payload: NOT_LOADED, attributes: {}, enqueuedAt: 0, deliveryCount: 0, readyAt: 0, leaseLost: false, journalRef: null };
    for (const m of all) {
      const r = m.record as EnqueuedRecord;
      m.record = null;
      out.id = r.id;
      out.seq = r.seq;
      out.priority = r.priority;
      out.payload = r.payload;
      out.attributes = r.attributes;
      out.enqueuedAt = r.enqueuedAt;
      out.deliveryCount = m.deliveryCount;
      out.readyAt = m.readyAt;
      out.leaseLost = m.inFlight;
      out.journalRef = m;
      target.restoreMessage(m.queue.name, out);
    }
  }

  commit(): Promise<void> | null {
    return this.wal === null ? null : this.wal.commit();
  }

  async close(): Promise<void> {
    await this.compactor?.stop();
    try {
      await this.wal?.close();
    } finally {
      this.wal = null;
      this.lock?.release();
      this.lock = null;
    }
  }

  /**
   * Resolves when what was journaled is written, no segment is being allocated and
   * maintenance (segment deletion, compaction) has nothing left to do (tests, benchmarks).
   */
  async maintenanceIdle(): Promise<void> {
    await this.wal?.commit();
    await this.compactor?.idle();
    await this.wal?.allocated();
  }

  health(): StorageHealth {
    const wal = this.wal;
    if (wal?.failure != null) return { state: 'failed', message: wal.failure.message };
    if (wal?.diskFull) return { state: 'disk-full', message: 'the disk is full: new messages and queues are refused until space is freed (acknowledge or purge messages, or free disk space)' };
    return { state: 'ok' };
  }

  onHealthChange(listener: () => void): void {
    this.healthListeners.push(listener);
  }

  stats(): WalStats {
    const wal = this.wal;
    return {
      segments: wal?.segments.length ?? 0,
      usedBytes: wal?.usedBytes ?? 0,
      liveBytes: this.index.liveBytes,
      reservedBytes: this.index.reserved,
      unjournaled: this.unjournaled,
      compaction: { ...(this.compactor?.stats ?? { deleted: 0, moved: 0, movedBytes: 0, steps: 0, longestStepMs: 0 }) },
    };
  }

  // ---- the journal ----

  private writable(): WalLog {
    const wal = this.wal;
    if (wal === null) throw new CoraError('STORAGE_FAILED', 'the write-ahead log is not open');
    if (wal.failure !== null) throw wal.failure;
    return wal;
  }

  queueCreated(name: string, settings: QueueSettings, createdAt: number): void {
    const wal = this.writable();
    const q = new WalQueue(this.index.nextQueueNum, name, settings, createdAt);
    if (!wal.hasRoom(q.recordSize, QUEUE_DELETED_SIZE + (wal.spares.length + 1) * q.recordSize)) {
      throw full(wal, `no room in the log for queue '${name}'`);
    }
    const off = wal.append(q.recordSize);
    if (off < 0) throw full(wal, `no room in the log for queue '${name}'`);
    writeQueue(wal.buf, off, q.num, name, settings, createdAt);
    this.index.addQueue(q);
  }

  queueDeleted(name: string): void {
    const q = this.index.byName.get(name);
    const wal = this.wal;
    if (q === undefined || wal === null || wal.failure !== null) return;
    this.index.removeQueue(q);
    const off = wal.append(QUEUE_DELETED_SIZE);
    if (off < 0) this.lost('queue deletion', name);
    else writeQueueDeleted(wal.buf, off, q.num);
  }

  enqueued(queue: string, m: JournaledMessage, readyAt: number): void {
    const wal = this.writable();
    const q = this.index.byName.get(queue);
    if (q === undefined) throw new CoraError('INTERNAL', `queue '${queue}' is not in the log`);
    const size = enqueuedSize(m.id, m.attributes, m.payload.length);
    if (!wal.hasRoom(size, REMOVED_SIZE)) throw full(wal, `no room in the log for a message of ${m.payload.length} bytes`);
    const off = wal.append(size);
    if (off < 0) throw full(wal, `no room in the log for a message of ${m.payload.length} bytes`);
    writeEnqueued(wal.buf, off, q.num, m, readyAt, false);
    const lm = new LiveMessage(q, wal.current, wal.lastPosition, size, m.deliveryCount, readyAt, false);
    this.index.addMessage(lm);
    m.journalRef = lm;
  }

  delivered(_queue: string, m: JournaledMessage): void {
    const lm = this.liveOf(m);
    const wal = this.wal;
    if (lm === null || wal === null || wal.failure !== null) return;
    lm.deliveryCount = m.deliveryCount;
    lm.inFlight = true;
    const off = wal.hasRoomUnreserved(DELIVERED_SIZE) ? wal.append(DELIVERED_SIZE) : -1;
    if (off < 0) this.unjournaledState('delivery', m.id);
    else writeDelivered(wal.buf, off, m.seq, m.deliveryCount);
  }

  requeued(_queue: string, m: JournaledMessage, readyAt: number): void {
    const lm = this.liveOf(m);
    const wal = this.wal;
    if (lm === null || wal === null || wal.failure !== null) return;
    lm.readyAt = readyAt;
    lm.inFlight = false;
    const off = wal.hasRoomUnreserved(REQUEUED_SIZE) ? wal.append(REQUEUED_SIZE) : -1;
    if (off < 0) this.unjournaledState('nack', m.id);
    else writeRequeued(wal.buf, off, m.seq, readyAt);
  }

  removed(_queue: string, m: JournaledMessage): void {
    const lm = this.liveOf(m);
    const wal = this.wal;
    if (lm === null || wal === null || wal.failure !== null) return;
    this.index.removeMessage(lm);
    m.journalRef = null;
    const off = wal.append(REMOVED_SIZE);
    if (off < 0) this.lost('tombstone', m.id);
    else writeRemoved(wal.buf, off, m.seq);
  }

  /** This storage's live record of the message, if it has one. */
  private liveOf(m: JournaledMessage): LiveMessage | null {
    const lm = m.journalRef;
    return lm instanceof LiveMessage && lm.live ? lm : null;
  }

  /** Every segment starts with the table of live queues, so it never depends on an older one for them. */
  private writeQueueTable(): void {
    const wal = this.wal as WalLog;
    for (const q of this.index.byNum.values()) {
      const off = wal.append(q.recordSize);
      if (off < 0) {
        this.lost('queue table entry', q.name);
        return;
      }
      writeQueue(wal.buf, off, q.num, q.name, q.settings, q.createdAt);
    }
  }

  private unjournaledState(what: string, id: string): void {
    if (this.unjournaled++ % 10_000 === 0) {
      this.log.warn(
        { what, id, count: this.unjournaled },
        'disk full: a delivery count or nack delay was not journaled (after a restart the message may be delivered more often or sooner)',
      );
    }
  }

  /** A reserved record found no room: the accounting is wrong. Logged loudly; the server goes on. */
  private lost(what: string, name: string): void {
    this.log.error({ what, name }, 'log space reserved for a record was not there: the record was not journaled (a bug)');
  }
}

function full(wal: WalLog, detail: string): CoraError {
  wal.ensureAhead();
  return new CoraError(
    'STORAGE_FULL',
    wal.diskFull
      ? `${detail}: the disk is full; acknowledge or purge messages, or free disk space`
      : `${detail}: the preallocated log space is used up and the next segment is still being prepared; retry shortly (a burst larger than --wal-segment-size does this)`,
  );
}
