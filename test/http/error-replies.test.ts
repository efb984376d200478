/** The one mapping from errors to HTTP replies, and which bodies are read as JSON. */
import { CoraError, ERROR_CATALOGUE, type ErrorCode } from '../../src/errors';
import { HttpProblem, toErrorReply } from '../../src/http/error-replies';
import { readsAsJson } from '../../src/http/request-body';

test('every catalogue code maps to its catalogue HTTP status and carries its code', () => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const reply = toErrorReply(new CoraError(code, `about ${code}`), { queueName: 'q', itemId: 'i' }, 1024);
    expect({ code, status: reply.statusCode, header: reply.code, unexpected: reply.unexpected }).toEqual({
      code,
      status: ERROR_CATALOGUE[code].http,
      header: code,
      unexpected: false,
    });
    expect(reply.body.status).toBe('error');
    expect(reply.body.message.length).toBeGreaterThan(0);
  }
});

test("three codes take the original CoraMQ's exact bodies; the others keep the catalogue message", () => {
  const subject = { queueName: 'High-priority', itemId: '3' };
  const body = (code: ErrorCode) => toErrorReply(new CoraError(code, 'engine words'), subject, 0).body;
  expect(body('QUEUE_NOT_FOUND')).toEqual({ status: 'error', message: 'Queue not found', queueName: 'High-priority' });
  expect(body('QUEUE_EXISTS')).toEqual({ status: 'error', message: 'Queue with the given name already exists', queueName: 'High-priority' });
  expect(body('MESSAGE_NOT_IN_FLIGHT')).toEqual({ status: 'error', message: 'Item not found in the in-flight queue', itemId: '3' });
  expect(body('QUEUE_FULL')).toEqual({ status: 'error', message: 'engine words' });
});

test('errors of HTTP itself carry no code; fastify 4xx errors keep their status; anything else is a logged 500', () => {
  expect(toErrorReply(new HttpProblem(415, 'no'), {}, 0)).toEqual({ statusCode: 415, body: { status: 'error', message: 'no' }, code: null, unexpected: false });
  const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  expect(toErrorReply(tooLarge, {}, 2048).body.message).toBe('request body is larger than 2048 bytes (--http-max-body-bytes)');
  const other = Object.assign(new Error('Some client error'), { statusCode: 400, code: 'FST_ERR_SOMETHING' });
  expect(toErrorReply(other, {}, 0)).toMatchObject({ statusCode: 400, body: { message: 'Some client error' } });
  const bug = toErrorReply(new TypeError('x is undefined'), {}, 0);
  expect(bug).toEqual({ statusCode: 500, body: { status: 'error', message: 'internal error (logged on the server)' }, code: 'INTERNAL', unexpected: true });
  const server = toErrorReply(Object.assign(new Error('boom'), { statusCode: 500 }), {}, 0);
  expect(server.statusCode).toBe(500);
  expect(server.body.message).not.toContain('boom');
});

test.each([
  ['application/json', true],
  ['application/json; charset=utf-8', true],
  ['Application/JSON', true],
  ['application/vnd.coramq+json', true],
  ['text/plain;charset=UTF-8', true],
  ['application/x-www-form-urlencoded', true],
  ['multipart/form-data; boundary=x', false],
  ['application/xml', false],
  ['application/octet-stream', false],
  ['image/png', false],
])('a body sent as %s is read as JSON: %s', (type, reads) => {
  expect(readsAsJson(type)).toBe(reads);
});
