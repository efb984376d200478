/**
 * The storage boundary. The engine keeps every queue in memory and tells a `Journal` each
 * change that must survive a restart; a `Storage` makes those changes durable and, at
 * start, replays what it holds into the engine. The engine knows nothing about files.
 *
 * Contract for journal calls: they are synchronous and buffer their record. A call that
 * can refuse (`enqueued` and `queueCreated`, when the disk is full) throws a CoraError
 * before the engine changes anything; the others never refuse. Records of one turn of the
 * event loop are made durable together (group commit); `Storage.commit()` resolves once
 * everything journaled so far is durable (as the storage's fsync policy defines it), and
 * the server replies to a request only then.
 *
 * Deliberately outside the journal: lease expiry, visibility extensions and delayed
 * messages coming due (replay derives them from time), and statistics counters.
 */
import type { MessageView } from '../engine/message';
import type { QueueSettings } from '../engine/queue';

/**
 * A message as the journal sees it: the engine's view of it, plus one slot where storage
 * keeps its own handle for the message (set at `enqueued` or restore, opaque to the engine),
 * so later calls about the message need no lookup by id.
 */
export interface JournaledMessage extends MessageView {
  journalRef: unknown;
}

export interface Journal {
  queueCreated(name: string, settings: QueueSettings, createdAt: number): void;
  queueDeleted(name: string): void;
  /** A full record: the message is now live in `queue`, ready at `readyAt`. */
  enqueued(queue: string, message: JournaledMessage, readyAt: number): void;
  /** The message was delivered: its delivery count is now `message.deliveryCount`. */
  delivered(queue: string, message: JournaledMessage): void;
  /** The message was given back (Nack) and is ready again at `readyAt`. */
  requeued(queue: string, message: JournaledMessage, readyAt: number): void;
  /** The message left the queue for good: acked, purged, or dead-lettered. */
  removed(queue: string, message: JournaledMessage): void;
}

/** A message as storage hands it back at start. */
export interface RestoredMessage {
  id: string;
  seq: number;
  priority: number;
  payload: Buffer;
  attributes: Record<string, string>;
  enqueuedAt: number;
  deliveryCount: number;
  readyAt: number;
  /**
   * It was in flight when the server stopped. Its lease is lost and counts as expired: the
   * broker's next tick puts it back in line (keeping its delivery count) or, when it is out
   * of deliveries, moves it to the dead-letter queue, as for any expired lease.
   */
  leaseLost: boolean;
  /** Storage's handle for the message (JournaledMessage.journalRef). */
  journalRef: unknown;
}

/** What storage replays into at start: the broker implements it. */
export interface RestoreTarget {
  restoreQueue(name: string, settings: QueueSettings, createdAt: number): void;
  /** The broker copies what it keeps: storage may refill one object for every call. */
  restoreMessage(queue: string, message: RestoredMessage): void;
}

/**
 * What storage can do now, for health checks. `disk-full`: new messages and queues are
 * refused (STORAGE_FULL) until space is freed, everything else works. `failed`: a write or
 * fsync failed; every change is refused (STORAGE_FAILED) until the server is restarted.
 */
export type StorageHealth = { state: 'ok' } | { state: 'disk-full' | 'failed'; message: string };

export interface Storage {
  /** 'memory' or 'wal': shown in logs and health. */
  readonly kind: string;
  health(): StorageHealth;
  /** `listener` is called after every change of `health()`. */
  onHealthChange(listener: () => void): void;
  readonly journal: Journal;
  /** Replays what is stored into `target`. Called once, before the server listens. */
  open(target: RestoreTarget): Promise<void>;
  /**
   * Resolves when every record journaled so far is durable. null when that is already so
   * (no await needed on the hot path).
   */
  commit(): Promise<void> | null;
  close(): Promise<void>;
}
