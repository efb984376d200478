/**
 * Time for the client's own timers (linger, retry and reconnect backoff, lease extension),
 * injected so tests can move it by hand (test/support/manual-clock.ts fits). Deadlines of
 * calls are not on this clock: gRPC deadlines are wall-clock time.
 *
 * Unlike the server's clock, these timers keep the process alive: a pending retry or a worker
 * waiting to reconnect is work in progress.
 */
export interface Clock {
  /** Milliseconds on a clock that never goes backwards. */
  now(): number;
  setTimer(delayMs: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (delayMs, fn) => setTimeout(fn, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
