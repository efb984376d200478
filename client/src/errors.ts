/**
 * Every error the client reports is a CoraMQError: the gRPC status `code`, the catalogue
 * `reason` the server sent in the `coramq-error-code` trailer (docs/ERRORS.md), and the
 * server's message. One mapping (`toError`) turns a status, or a batch entry's error, into
 * the subclass a caller can catch: the reason decides where it is known (NOT_FOUND can be a
 * queue or a message), the status code otherwise (connection errors carry no reason).
 */
import { status, type StatusObject } from '@grpc/grpc-js';

export const ERROR_CODE_TRAILER = 'coramq-error-code';

export class CoraMQError extends Error {
  override name = 'CoraMQError';
  /** The gRPC status code (`status.NOT_FOUND` is 5, ...). */
  readonly code: number;
  /**
   * The server's catalogue code (`QUEUE_NOT_FOUND`, `STALE_RECEIPT`, ...; docs/ERRORS.md), or
   * undefined when the error did not come from CoraMQ's handlers (a connection failure, a
   * deadline, a cancellation).
   */
  readonly reason: string | undefined;

  constructor(message: string, code: number, reason?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.reason = reason;
  }
}

/** The queue does not exist (QUEUE_NOT_FOUND), or a dead-letter queue named in a config does not (DEAD_LETTER_QUEUE_NOT_FOUND). */
export class QueueNotFoundError extends CoraMQError {
  override name = 'QueueNotFoundError';
}
/** CreateQueue of a name that is taken. */
export class QueueExistsError extends CoraMQError {
  override name = 'QueueExistsError';
}
/** DeleteQueue of a queue that another queue uses as its dead-letter queue. */
export class QueueInUseError extends CoraMQError {
  override name = 'QueueInUseError';
}
/** Ack, nack or extend of a message that is not in flight (acked already, or its lease expired). */
export class MessageNotFoundError extends CoraMQError {
  override name = 'MessageNotFoundError';
}
/** The receipt is not that of the message's current delivery: its lease expired and it was delivered again. */
export class InvalidReceiptError extends CoraMQError {
  override name = 'InvalidReceiptError';
}
/** A field is missing, malformed or out of range (name, id, payload size, attributes, batch size, durations). */
export class InvalidArgumentError extends CoraMQError {
  override name = 'InvalidArgumentError';
}
/** A limit is reached: the queue is full, too many queues or streams, storage full, a request too large. */
export class ResourceExhaustedError extends CoraMQError {
  override name = 'ResourceExhaustedError';
}
/** The server cannot be reached, is shutting down, or its storage failed. Safe calls are retried before this is reported. */
export class UnavailableError extends CoraMQError {
  override name = 'UnavailableError';
}
/** The server wants a token (`token` option) and got none or a wrong one. */
export class UnauthenticatedError extends CoraMQError {
  override name = 'UnauthenticatedError';
}
/** The call's deadline passed before the server answered. */
export class DeadlineExceededError extends CoraMQError {
  override name = 'DeadlineExceededError';
}
/** The call was cancelled through its AbortSignal (the signal's reason is the `cause`). */
export class CancelledError extends CoraMQError {
  override name = 'CancelledError';
}

type ErrorClass = new (message: string, code: number, reason?: string, options?: { cause?: unknown }) => CoraMQError;

const BY_REASON: Record<string, ErrorClass> = {
  QUEUE_NOT_FOUND: QueueNotFoundError,
  DEAD_LETTER_QUEUE_NOT_FOUND: QueueNotFoundError,
  MESSAGE_NOT_IN_FLIGHT: MessageNotFoundError,
  QUEUE_EXISTS: QueueExistsError,
  QUEUE_IN_USE: QueueInUseError,
  STALE_RECEIPT: InvalidReceiptError,
};

const BY_STATUS: Partial<Record<number, ErrorClass>> = {
  [status.INVALID_ARGUMENT]: InvalidArgumentError,
  [status.ALREADY_EXISTS]: QueueExistsError,
  [status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [status.UNAVAILABLE]: UnavailableError,
  [status.UNAUTHENTICATED]: UnauthenticatedError,
  [status.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [status.CANCELLED]: CancelledError,
};

/** The error for a status code, catalogue reason and message (a failed call or a batch entry). */
export function toError(code: number, reason: string | undefined, message: string, cause?: unknown): CoraMQError {
  const Class = (reason !== undefined && BY_REASON[reason]) || BY_STATUS[code] || CoraMQError;
  return new Class(message, code, reason || undefined, cause === undefined ? undefined : { cause });
}

/** The error for a failed call's final status (its trailer names the reason). */
export function statusError(s: Pick<StatusObject, 'code' | 'details' | 'metadata'>): CoraMQError {
  const reason = s.metadata?.get(ERROR_CODE_TRAILER)[0];
  return toError(s.code, typeof reason === 'string' ? reason : undefined, s.details || status[s.code] || `status ${s.code}`);
}

/** The CancelledError for an aborted signal. */
export function abortError(signal: AbortSignal, what: string): CancelledError {
  return new CancelledError(`${what} was cancelled`, status.CANCELLED, undefined, { cause: signal.reason });
}

/** True for errors after which the same call may succeed if made again (the server was unreachable). */
export function isTransient(err: CoraMQError): boolean {
  return err.code === status.UNAVAILABLE;
}
