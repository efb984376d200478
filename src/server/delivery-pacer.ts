/**
 * How many deliveries the server makes in one turn of the event loop, across all Dequeue
 * streams: at most `perTurn`. HTTP/2 sends what the streams wrote only once the turn's
 * JavaScript is done (Node's http2 flushes on setImmediate), so without a bound one turn could
 * lease and encode the whole of a large backlog before the first byte leaves: 256 streams
 * subscribing at once with 64 in flight each took 16,384 deliveries, about 100 ms, before any
 * consumer saw a message (bench/README.md, ninth session).
 *
 * A stream that takes the turn's last delivery pauses its consumer and waits here; at the
 * start of the next turn (setImmediate, after the frames made so far went out) the waiting
 * streams are resumed in the order they came, as long as the new turn's budget lasts; one that
 * spends it waits again, behind the others (round robin).
 *
 * Invariants: `used` counts this turn's deliveries; while it is above zero a reset is
 * scheduled; a stream is in `waiting` at most once.
 */

/** A stream that paused itself for the turn; `resume()` lets its consumer take deliveries again. */
export interface Paced {
  resume(): void;
}

export class DeliveryPacer {
  private used = 0;
  private readonly waiting = new Set<Paced>();

  constructor(private readonly perTurn: number) {
    if (!(Number.isInteger(perTurn) && perTurn >= 1)) throw new RangeError(`deliveries per turn must be a positive integer (got ${perTurn})`);
  }

  /** Counts one delivery; false when it was the turn's last, so the caller should `wait`. */
  take(): boolean {
    if (this.used++ === 0) setImmediate(this.nextTurn);
    return this.used < this.perTurn;
  }

  /** True when this turn's deliveries are all made. */
  spent(): boolean {
    return this.used >= this.perTurn;
  }

  /** `stream` is resumed in a later turn, once the frames made so far have gone out. */
  wait(stream: Paced): void {
    this.waiting.add(stream);
  }

  /** A stream that ended before its turn came. */
  forget(stream: Paced): void {
    this.waiting.delete(stream);
  }

  private readonly nextTurn = (): void => {
    this.used = 0;
    for (const s of this.waiting) {
      if (this.used >= this.perTurn) break;
      this.waiting.delete(s);
      s.resume();
    }
  };
}
