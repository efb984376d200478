/**
 * A message as the engine holds it. One object per live message: it is at the same time the
 * heap item (while ready) and the timer-wheel entry (while delayed or in flight), so moving
 * between states allocates nothing.
 *
 * Invariants: `state` says where it is. Ready: in its queue's heap, not in the wheel.
 * Delayed: in the wheel with `expiresAt` = when it becomes ready. InFlight: in the wheel
 * with `expiresAt` = the end of its lease, and `receipt`/`holder` name the current delivery.
 * Gone: in neither, and no longer in its queue's id map.
 */
import { TimerEntry } from './timer-wheel';
import type { HeapItem } from './priority-heap';
import type { Consumer } from './consumer';
import type { Queue } from './queue';

export const enum MessageState {
  Ready = 0,
  Delayed = 1,
  InFlight = 2,
  Gone = 3,
}

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

export class Message extends TimerEntry implements HeapItem, DeliveredMessage {
  heapIndex = -1;
  state = MessageState.Ready;
  deliveryCount = 0;
  /** The current delivery's receipt ('' when not in flight). */
  receipt = '';
  /** The consumer holding the current delivery, for its in-flight count. */
  holder: Consumer | null = null;
  /** Storage's handle for this message (JournaledMessage); the engine never looks inside. */
  journalRef: unknown = null;

  constructor(
    public queue: Queue,
    readonly id: string,
    /** Enqueue order, across the whole broker: the tie-break among equal priorities. */
    public seq: number,
    readonly priority: number,
    readonly payload: Buffer,
    public attributes: Attributes,
    readonly enqueuedAt: number,
  ) {
    super();
  }

  get queueName(): string {
    return this.queue.name;
  }

  get visibleAt(): number {
    return this.expiresAt;
  }
}

/** Priority order: higher priority first, then lower seq (enqueue order). */
export function deliveredBefore(a: Message, b: Message): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}
