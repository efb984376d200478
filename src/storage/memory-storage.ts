/**
 * In-memory storage: nothing survives a restart. The journal is a no-op, every commit is
 * immediate.
 */
import type { Journal, Storage, StorageHealth } from './journal';

const noop = (): void => {};

export const NULL_JOURNAL: Journal = {
  queueCreated: noop,
  queueDeleted: noop,
  enqueued: noop,
  delivered: noop,
  requeued: noop,
  removed: noop,
};

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  readonly journal = NULL_JOURNAL;

  health(): StorageHealth {
    return { state: 'ok' };
  }

  onHealthChange(): void {} // memory cannot fail

  async open(): Promise<void> {}

  commit(): null {
    return null;
  }

  async close(): Promise<void> {}
}
