/**
 * The error mapping against the server's catalogue: every code the server can send maps to the
 * class the README documents for it, and the README's table lists every error class.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import * as client from '../src';
import { toError } from '../src/errors';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors';

const EXPECTED: Record<ErrorCode, string> = {
  INVALID_ARGUMENT: 'InvalidArgumentError',
  UNDECODABLE_REQUEST: 'InvalidArgumentError',
  INVALID_QUEUE_NAME: 'InvalidArgumentError',
  PAYLOAD_TOO_LARGE: 'InvalidArgumentError',
  BATCH_TOO_LARGE: 'InvalidArgumentError',
  QUEUE_NOT_FOUND: 'QueueNotFoundError',
  DEAD_LETTER_QUEUE_NOT_FOUND: 'QueueNotFoundError',
  MESSAGE_NOT_IN_FLIGHT: 'MessageNotFoundError',
  QUEUE_EXISTS: 'QueueExistsError',
  STALE_RECEIPT: 'InvalidReceiptError',
  QUEUE_IN_USE: 'QueueInUseError',
  QUEUE_FULL: 'ResourceExhaustedError',
  TOO_MANY_QUEUES: 'ResourceExhaustedError',
  TOO_MANY_CONSUMERS: 'ResourceExhaustedError',
  STORAGE_FULL: 'ResourceExhaustedError',
  UNAUTHENTICATED: 'UnauthenticatedError',
  SHUTTING_DOWN: 'UnavailableError',
  STORAGE_FAILED: 'UnavailableError',
  INTERNAL: 'CoraMQError',
};

test.each(Object.entries(ERROR_CATALOGUE))('%s maps to its class, keeping code, reason and message', (code, { grpc }) => {
  const err = toError(grpc, code, 'what went wrong');
  expect(err.name).toBe(EXPECTED[code as ErrorCode]);
  expect(err).toBeInstanceOf((client as unknown as Record<string, new () => Error>)[EXPECTED[code as ErrorCode]]);
  expect(err).toBeInstanceOf(client.CoraMQError);
  expect(err).toMatchObject({ code: grpc, reason: code, message: 'what went wrong' });
});

test('statuses without a reason map by status: connection errors, deadlines, cancellations', () => {
  expect(toError(status.UNAVAILABLE, undefined, 'No connection established')).toBeInstanceOf(client.UnavailableError);
  expect(toError(status.DEADLINE_EXCEEDED, undefined, 'Deadline exceeded')).toBeInstanceOf(client.DeadlineExceededError);
  expect(toError(status.CANCELLED, undefined, 'Cancelled')).toBeInstanceOf(client.CancelledError);
  expect(toError(status.RESOURCE_EXHAUSTED, undefined, 'Received message larger than max')).toBeInstanceOf(client.ResourceExhaustedError);
  const unknown = toError(status.NOT_FOUND, undefined, 'no reason');
  expect(unknown.constructor).toBe(client.CoraMQError);
  expect(unknown.reason).toBeUndefined();
});

test("the README's error table lists every error class the package exports", () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const documented = [...readme.matchAll(/^\| `(\w+Error)` \|/gm)].map((m) => m[1]).sort();
  const exported = Object.entries(client)
    .filter(([name, v]) => typeof v === 'function' && (v === client.CoraMQError || v.prototype instanceof client.CoraMQError) && name !== 'CoraMQError')
    .map(([name]) => name)
    .sort();
  expect(documented).toEqual(exported);
});
