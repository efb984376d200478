/**
 * How the engine shows messages outside itself. Inside, a message is a slot of the
 * MessageTable (see message-table.ts); outside, it is a read-only view: storage and the
 * protocol layers never see the engine's representation.
 */
import type { MessageTable } from './message-table';
import type { PayloadStore } from './payload-store';
import type { TimerWheel } from './timer-wheel';
import type { JournaledMessage } from '../storage/journal';

export type Attributes = Readonly<Record<string, string>>;
export const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * What the engine shows of a message outside itself (storage, protocol layers). A view is
 * valid only during the call that hands it out: copy what you keep. The engine's own
 * representation of messages is free to change behind it.
 */
export interface MessageView {
  readonly id: string;
  /** Enqueue order across the broker: the tie-break among equal priorities. */
  readonly seq: number;
  readonly priority: number;
  readonly payload: Uint8Array;
  readonly attributes: Attributes;
  readonly enqueuedAt: number;
  readonly deliveryCount: number;
}

/** A message at the moment it is delivered. */
export interface DeliveredMessage extends MessageView {
  readonly queueName: string;
  /** The end of this delivery's lease. */
  readonly visibleAt: number;
  readonly receipt: string;
}

/** What a view reads: the broker's table and stores. */
export interface ViewSource {
  readonly table: MessageTable;
  readonly payloads: PayloadStore;
  readonly wheel: TimerWheel;
  idOf(slot: number): string;
  queueNameOf(slot: number): string;
}

/**
 * A cursor over one slot that reads it as a DeliveredMessage: the engine hands the same
 * object out again and again (at(slot)), so a view costs no allocation. Valid until the
 * next at() or the next change to the message: copy what you keep.
 */
export class SlotView implements DeliveredMessage, JournaledMessage {
  private slot = -1;
  private cachedId: string | null = null;

  constructor(private readonly src: ViewSource) {}

  at(slot: number): this {
    this.slot = slot;
    this.cachedId = null;
    return this;
  }

  get id(): string {
    return (this.cachedId ??= this.src.idOf(this.slot));
  }
  get seq(): number {
    return this.src.table.seq[this.slot];
  }
  get priority(): number {
    return this.src.table.priority[this.slot];
  }
  get payload(): Buffer {
    return this.src.payloads.view(this.slot);
  }
  get attributes(): Attributes {
    return this.src.table.extras.get(this.slot)?.attributes ?? NO_ATTRIBUTES;
  }
  get enqueuedAt(): number {
    return this.src.table.enqueuedAt[this.slot];
  }
  get deliveryCount(): number {
    return this.src.table.deliveryCount[this.slot];
  }
  get queueName(): string {
    return this.src.queueNameOf(this.slot);
  }
  get visibleAt(): number {
    return this.src.wheel.expiryOf(this.slot);
  }
  get receipt(): string {
    return this.src.table.receiptOf(this.slot) ?? '';
  }
  get journalRef(): unknown {
    return this.src.table.journalRef(this.slot);
  }
  set journalRef(ref: unknown) {
    this.src.table.setJournalRef(this.slot, ref);
  }

  /** A copy that stays valid (for lists handed out, like a scan). */
  snapshot(): MessageView {
    const { id, seq, priority, payload, attributes, enqueuedAt, deliveryCount } = this;
    return { id, seq, priority, payload, attributes, enqueuedAt, deliveryCount };
  }
}
