/**
 * The one mapping from errors to HTTP replies. Every error reply is
 * `{"status":"error","message":...}`: a CoraError keeps its catalogue status and message,
 * and its code travels in the `coramq-error-code` header; three codes take the original
 * CoraMQ's exact bodies (unknown queue, queue exists, item not in flight). Errors of HTTP
 * itself (malformed JSON, unknown route, body too large, unsupported media type, bad URL)
 * are HttpProblems or fastify's own errors and carry no code, as grpc-js's do on gRPC.
 * Anything else is a bug: 500, logged once by the caller.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { CoraError, errors } from '../errors';

export const ERROR_CODE_HEADER = 'coramq-error-code';

/** An error of HTTP itself, not of CoraMQ: no catalogue code. */
export class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

/** What an error reply may name, taken from the request. */
export interface Subject {
  queueName?: string;
  itemId?: string;
}

export interface ErrorReply {
  statusCode: number;
  body: { status: 'error'; message: string; queueName?: string; itemId?: string };
  /** The catalogue code (for the header); null for errors of HTTP itself. */
  code: string | null;
  /** True for a bug: the caller logs it. */
  unexpected: boolean;
}

/** Messages for fastify's own 4xx errors, in this API's words. */
const FASTIFY_MESSAGES: Record<string, (limit: number) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (limit) => `request body is larger than ${limit} bytes (--http-max-body-bytes)`,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'request body length does not match its Content-Length',
  FST_ERR_BAD_URL: () => 'the URL is not valid (bad percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: () => 'a path segment of the URL is too long',
};

export function toErrorReply(err: unknown, subject: Subject, bodyLimit: number): ErrorReply {
  if (err instanceof CoraError) return coraReply(err, subject);
  if (err instanceof HttpProblem) return plain(err.statusCode, err.message);
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const reword = typeof e.code === 'string' ? FASTIFY_MESSAGES[e.code] : undefined;
    return plain(e.statusCode, reword !== undefined ? reword(bodyLimit) : String(e.message));
  }
  return { ...coraReply(new CoraError('INTERNAL', 'internal error (logged on the server)'), subject), unexpected: true };
}

function coraReply(e: CoraError, subject: Subject): ErrorReply {
  const reply = (body: ErrorReply['body']): ErrorReply => ({ statusCode: e.httpStatus, body, code: e.code, unexpected: false });
  switch (e.code) {
    case 'QUEUE_NOT_FOUND':
      return reply({ status: 'error', message: 'Queue not found', queueName: subject.queueName });
    case 'QUEUE_EXISTS':
      return reply({ status: 'error', message: 'Queue with the given name already exists', queueName: subject.queueName });
    case 'MESSAGE_NOT_IN_FLIGHT':
      return reply({ status: 'error', message: 'Item not found in the in-flight queue', itemId: subject.itemId });
    default:
      return reply({ status: 'error', message: e.message });
  }
}

function plain(statusCode: number, message: string): ErrorReply {
  return { statusCode, body: { status: 'error', message }, code: null, unexpected: false };
}

/**
 * Schema validation failures as INVALID_ARGUMENT with a message for a person:
 * `item.priority must be integer`, `request body must be a JSON object`.
 */
export function schemaError(failures: FastifySchemaValidationError[], dataVar: 'body' | 'headers' | 'params' | 'querystring'): Error {
  const f = failures[0];
  const root = dataVar === 'body' ? 'request body' : dataVar === 'querystring' ? 'query parameter' : dataVar;
  const path = f.instancePath === '' ? root : f.instancePath.slice(1).replace(/\//g, '.');
  if (f.instancePath === '' && f.keyword === 'type' && dataVar === 'body') return errors.invalid('request body must be a JSON object');
  if (f.keyword === 'required') return errors.invalid(`${path} must have the field '${(f.params as { missingProperty: string }).missingProperty}'`);
  return errors.invalid(`${path} ${f.message ?? 'is invalid'}`);
}
