/**
 * A promise whose resolve and reject functions go into fields of an object the caller already
 * has (a batch item, a subscription): `new Promise((res, rej) => { ... })` with captured
 * variables makes an executor closure and its context per promise, and usually an object to
 * keep the two functions in; on paths taken once per message that is garbage worth saving.
 * The executor here is one function, shared.
 */
export interface Resolvers<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** For fields that will hold a promise's resolvers. */
export const NOOP = (): void => {};

let resolveTaken: (value: never) => void = NOOP;
let rejectTaken: (err: unknown) => void = NOOP;
function take(resolve: (value: never) => void, reject: (err: unknown) => void): void {
  resolveTaken = resolve;
  rejectTaken = reject;
}

/** A new promise; `holder.resolve` and `holder.reject` settle it. */
export function promiseInto<T>(holder: Resolvers<T>): Promise<T> {
  const promise = new Promise<T>(take);
  holder.resolve = resolveTaken as (value: T) => void;
  holder.reject = rejectTaken;
  resolveTaken = rejectTaken = NOOP;
  return promise;
}
