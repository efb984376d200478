/**
 * What every call takes: an AbortSignal and a deadline. A deadline is milliseconds from now
 * (a number) or a point in time (a Date); `Infinity` means none. Deadlines are wall-clock
 * times (Date.now), as gRPC's are.
 */
export interface CallOptions {
  /** Aborting it cancels the call; the promise rejects with a CancelledError. */
  signal?: AbortSignal;
  /** Milliseconds from now, or a Date. Default: the client's `deadline` option. */
  deadline?: number | Date;
}

/** The absolute deadline (ms since the epoch, or Infinity) of a call. */
export function deadlineAt(deadline: number | Date | undefined, fallbackMs: number): number {
  if (deadline instanceof Date) return deadline.getTime();
  const ms = deadline ?? fallbackMs;
  return ms === Infinity ? Infinity : Date.now() + ms;
}
