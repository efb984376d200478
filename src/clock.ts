/**
 * Time, injected. The engine reads time only through `Clock.now()`; the one driver timer is
 * armed through `setTimer`. Tests pass a manual clock and move time by hand.
 *
 * `now()` is integer milliseconds since the Unix epoch that never goes backwards: the
 * monotonic clock anchored at the wall time of process start, so a wall-clock step (NTP)
 * cannot expire every lease at once.
 */
export interface Clock {
  now(): number;
  /** A one-shot timer that does not keep the process alive. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => Math.floor(origin + performance.now()),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
