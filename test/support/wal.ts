/**
 * WAL test helpers: fresh temp data directories, a WalStorage wired to a broker on a manual
 * clock, a file layer that counts calls and fails on demand (a full disk, an I/O error),
 * and a snapshot of the engine's state to compare before and after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Broker } from '../../src/engine/broker';
import { nodeFiles, type FileLayer, type OpenFlags } from '../../src/storage/wal/file-layer';
import { WalStorage, type WalOptions } from '../../src/storage/wal/wal-storage';
import { RecordingSink, type Delivery } from './engine';
import { ManualClock } from './manual-clock';

const dirs: string[] = [];

/** A fresh directory, removed after the test file. */
export function tempDir(prefix = 'coramq-wal-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export const silent = pino({ level: 'silent' });

/** A logger that keeps what it is given, to check what was logged. */
export function recordingLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

export function walOptions(dir: string, overrides: Partial<WalOptions> = {}): WalOptions {
  return {
    dir,
    fsync: 'always',
    fsyncIntervalMs: 50,
    writesInFlight: 4,
    segmentSize: 64 * 1024,
    headroom: 4 * 1024,
    compactRatio: 2,
    compactStepBytes: 16 * 1024,
    repair: false,
    log: silent,
    ...overrides,
  };
}

export interface WalEngine {
  storage: WalStorage;
  broker: Broker;
  clock: ManualClock;
  /** Commit and close (everything journaled is then on disk: a crash from here loses nothing). */
  close(): Promise<void>;
}

/** A broker on a manual clock at `time`, with a WalStorage on `dir` opened into it. */
export async function openWal(dir: string, overrides: Partial<WalOptions> = {}, time?: number): Promise<WalEngine> {
  const clock = new ManualClock(time);
  const storage = new WalStorage(walOptions(dir, overrides));
  const broker = new Broker({ clock, journal: storage.journal });
  await storage.open(broker);
  return {
    storage,
    broker,
    clock,
    async close() {
      await storage.commit();
      await storage.close();
    },
  };
}

/**
 * The real file layer, counting calls, with faults: `diskBytes` caps what `allocate` may
 * reserve in total (ENOSPC beyond; `unlink` of an allocated file gives its bytes back), and
 * `failWrites` makes every record write fail with EIO.
 */
export class FaultyFiles implements FileLayer {
  /** Set false (before opening the log) to take the write-then-fdatasync path. */
  writeThrough = nodeFiles.writeThrough;
  /** How each open file was opened. */
  readonly flagsOf = new Map<number, OpenFlags>();
  writes = 0;
  syncs = 0;
  allocated = 0;
  diskBytes = Infinity;
  failWrites = false;
  private readonly sizes = new Map<number, number>();
  private readonly pathOf = new Map<number, string>();
  private readonly bytesOf = new Map<string, number>();

  open = async (path: string, flags: OpenFlags): Promise<number> => {
    if (flags === 'r+sync' && !this.writeThrough) throw new Error('r+sync opened on a layer without write-through');
    const fd = await nodeFiles.open(path, flags);
    this.pathOf.set(fd, path);
    this.flagsOf.set(fd, flags);
    return fd;
  };
  close = (fd: number) => {
    this.flagsOf.delete(fd);
    return nodeFiles.close(fd);
  };
  size = (fd: number) => nodeFiles.size(fd);
  read = (fd: number, buf: Buffer, offset: number, length: number, position: number) => nodeFiles.read(fd, buf, offset, length, position);
  write = async (fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> => {
    this.writes++;
    if (this.failWrites) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    return nodeFiles.write(fd, buf, offset, length, position);
  };
  datasync = async (fd: number): Promise<void> => {
    this.syncs++;
    return nodeFiles.datasync(fd);
  };
  allocate = async (fd: number, size: number): Promise<void> => {
    if (this.allocated + size > this.diskBytes) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    this.allocated += size;
    this.sizes.set(fd, size);
    await nodeFiles.allocate(fd, size);
  };
  rename = async (from: string, to: string): Promise<void> => {
    for (const [fd, path] of this.pathOf) {
      if (path === from) {
        this.pathOf.set(fd, to);
        this.bytesOf.set(to, this.sizes.get(fd) ?? 0);
      }
    }
    return nodeFiles.rename(from, to);
  };
  unlink = async (path: string): Promise<void> => {
    this.allocated -= this.bytesOf.get(path) ?? 0;
    this.bytesOf.delete(path);
    return nodeFiles.unlink(path);
  };
  readdir = (dir: string) => nodeFiles.readdir(dir);
  mkdir = (dir: string) => nodeFiles.mkdir(dir);
  syncDir = (dir: string) => nodeFiles.syncDir(dir);
}

/**
 * Everything the engine holds that storage must bring back: each queue with its settings,
 * and each live message in the queue's order with its state, delivery count and (when
 * delayed) ready time. Receipts and lease ends are per process, so not part of it.
 */
export function engineState(broker: Broker) {
  return broker.listQueues('', 100_000).map((q) => ({
    name: q.name,
    settings: q.settings,
    createdAt: q.createdAt,
    counts: { ready: q.readyCount, delayed: q.delayedCount, inFlight: q.inFlightCount },
    messages: q.messages().map((m) => ({
      id: m.id,
      seq: m.seq,
      state: m.state,
      priority: m.priority,
      payload: Buffer.from(m.payload).toString('base64'),
      attributes: { ...m.attributes },
      enqueuedAt: m.enqueuedAt,
      deliveryCount: m.deliveryCount,
      readyAt: m.state === 'delayed' ? m.dueAt : null,
    })),
  }));
}

/**
 * `engineState` with leases folded in: lease expiry is not journaled, so across a restart a
 * message in flight and one whose lease ran out both come back in flight with the lease lost.
 */
export function leasesFolded(state: ReturnType<typeof engineState>) {
  return state.map((q) => ({
    ...q,
    counts: { ready: q.counts.ready + q.counts.inFlight, delayed: q.counts.delayed },
    messages: q.messages.map((m) => ({ ...m, state: m.state === 'delayed' ? 'delayed' : 'ready or in flight' })),
  }));
}

/** Takes up to `n` ready messages of `queue` in one go (leased for the queue's visibility timeout, or `visibilityTimeoutMs`). */
export function take(broker: Broker, queue: string, n: number, visibilityTimeoutMs?: number): Delivery[] {
  const sink = new RecordingSink();
  const c = broker.subscribe(
    queue,
    { maxInFlight: n, visibilityTimeoutMs: visibilityTimeoutMs ?? broker.queue(queue).settings.visibilityTimeoutMs, maxMessages: n, idleMs: null, deadlineAt: null },
    sink,
  );
  broker.unsubscribe(c);
  return sink.got;
}
