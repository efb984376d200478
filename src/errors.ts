/**
 * The error catalogue: every error CoraMQ reports, with its gRPC status and HTTP status.
 * The engine, the storage and the validators throw `CoraError(code, message)`; the gRPC and
 * HTTP layers map it in one place each. `docs/ERRORS.md` documents every code (a test keeps
 * the two in step).
 */
import { status } from '@grpc/grpc-js';

export const ERROR_CATALOGUE = {
  INVALID_ARGUMENT: { grpc: status.INVALID_ARGUMENT, http: 400 },
  UNDECODABLE_REQUEST: { grpc: status.INVALID_ARGUMENT, http: 400 },
  INVALID_QUEUE_NAME: { grpc: status.INVALID_ARGUMENT, http: 400 },
  PAYLOAD_TOO_LARGE: { grpc: status.INVALID_ARGUMENT, http: 400 },
  BATCH_TOO_LARGE: { grpc: status.INVALID_ARGUMENT, http: 400 },
  QUEUE_NOT_FOUND: { grpc: status.NOT_FOUND, http: 404 },
  DEAD_LETTER_QUEUE_NOT_FOUND: { grpc: status.NOT_FOUND, http: 404 },
  MESSAGE_NOT_IN_FLIGHT: { grpc: status.NOT_FOUND, http: 404 },
  QUEUE_EXISTS: { grpc: status.ALREADY_EXISTS, http: 400 },
  STALE_RECEIPT: { grpc: status.FAILED_PRECONDITION, http: 409 },
  QUEUE_IN_USE: { grpc: status.FAILED_PRECONDITION, http: 409 },
  QUEUE_FULL: { grpc: status.RESOURCE_EXHAUSTED, http: 429 },
  TOO_MANY_QUEUES: { grpc: status.RESOURCE_EXHAUSTED, http: 429 },
  TOO_MANY_CONSUMERS: { grpc: status.RESOURCE_EXHAUSTED, http: 429 },
  STORAGE_FULL: { grpc: status.RESOURCE_EXHAUSTED, http: 507 },
  UNAUTHENTICATED: { grpc: status.UNAUTHENTICATED, http: 401 },
  SHUTTING_DOWN: { grpc: status.UNAVAILABLE, http: 503 },
  STORAGE_FAILED: { grpc: status.UNAVAILABLE, http: 503 },
  INTERNAL: { grpc: status.INTERNAL, http: 500 },
} as const satisfies Record<string, { grpc: status; http: number }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class CoraError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CoraError';
  }

  get grpcStatus(): status {
    return ERROR_CATALOGUE[this.code].grpc;
  }

  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }
}

/** Any thrown value as a CoraError: unknown errors become INTERNAL (the caller logs them). */
export function asCoraError(err: unknown): CoraError {
  if (err instanceof CoraError) return err;
  return new CoraError('INTERNAL', 'internal error');
}

// Constructors for the errors raised in more than one place, so their wording is the same
// everywhere.
export const errors = {
  queueNotFound: (name: string) => new CoraError('QUEUE_NOT_FOUND', `queue '${name}' does not exist`),
  notInFlight: (queue: string, id: string) =>
    new CoraError(
      'MESSAGE_NOT_IN_FLIGHT',
      `message '${id}' is not in flight in queue '${queue}' (it was acked, never existed, or its lease expired and it waits to be delivered again)`,
    ),
  staleReceipt: (queue: string, id: string) =>
    new CoraError(
      'STALE_RECEIPT',
      `the receipt for message '${id}' in queue '${queue}' is not that of its current delivery (an earlier delivery's lease expired and the message was delivered again, or the receipt was never issued)`,
    ),
  invalid: (message: string) => new CoraError('INVALID_ARGUMENT', message),
  shuttingDown: () => new CoraError('SHUTTING_DOWN', 'the server is shutting down; reconnect to another instance or retry'),
};
