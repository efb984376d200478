/**
 * The one mapping from errors to gRPC status. A CoraError keeps its catalogue status and
 * message, and its code travels in the `coramq-error-code` trailer; anything else is a bug:
 * it becomes INTERNAL and is logged once, here.
 */
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { EntryError } from '../../generated/coramq/v1/queue';
import { CoraError } from '../errors';
import type { Logger } from '../logger';

export const ERROR_CODE_TRAILER = 'coramq-error-code';

function asKnown(err: unknown, log: Logger): CoraError {
  if (err instanceof CoraError) return err;
  log.error({ err }, 'unexpected error');
  return new CoraError('INTERNAL', 'internal error (logged on the server)');
}

export function toStatus(err: unknown, log: Logger): StatusObject {
  const e = asKnown(err, log);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, e.code);
  return { code: e.grpcStatus, details: e.message, metadata };
}

/** The per-entry error of a batch call. */
export function toEntryError(err: unknown, log: Logger): EntryError {
  const e = asKnown(err, log);
  return { code: e.grpcStatus, reason: e.code, message: e.message };
}

export { status };
