/**
 * How request bodies are read: as JSON, whatever the Content-Type says, when it says
 * nothing that contradicts JSON. The original server read every body as JSON, and its
 * clients send JSON as application/json, as text/plain (fetch with a string body), as
 * application/x-www-form-urlencoded (curl -d) or with no Content-Type; all of these keep
 * working. A type that names another format (multipart/form-data, application/xml, ...)
 * is 415. An empty body is no body (routes that need one say so through their schema).
 * `__proto__` and `constructor.prototype` keys are refused (fastify's secure parser).
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors';
import { HttpProblem } from './error-replies';

/** Media types read as JSON, besides any `application/...+json`. */
const READ_AS_JSON = new Set(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);

export function readsAsJson(contentType: string): boolean {
  const media = contentType.split(';')[0].trim().toLowerCase();
  return READ_AS_JSON.has(media) || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(media);
}

export function installJsonBodies(app: FastifyInstance): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !readsAsJson(type)) {
      done(new HttpProblem(415, `Content-Type '${type.slice(0, 100)}' is not supported: send JSON (application/json)`), undefined);
      return;
    }
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    secureParse(request, text, (err, value) => {
      if (err === null) done(null, value);
      else done(errors.invalid(`request body is not valid JSON: ${whyNotJson(text)}`), undefined);
    });
  });
}

/** JSON.parse's own explanation (with the position); if it parses, the secure parser refused a key. */
function whyNotJson(text: string): string {
  try {
    JSON.parse(text);
  } catch (syntax) {
    return (syntax as Error).message;
  }
  return "it sets '__proto__' or 'constructor.prototype'";
}
