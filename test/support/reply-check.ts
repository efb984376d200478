/**
 * Watches every reply of an HTTP API (installed through `extendHttp`, before the routes):
 * the bytes sent must be exactly JSON.stringify of the object the handler (or the error
 * handler) replied with. A response schema (src/http/response-schemas.ts) that drops,
 * renames or reorders a field, or writes a value otherwise, is thereby caught by whichever
 * test makes that reply. It also records the routes with their declared replies, and each
 * reply seen, so a test can check that every declared reply was made.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface DeclaredRoute {
  /** 'POST /queues/:queueName/enqueue' */
  route: string;
  /** The route's `schema.response`, undefined when it has none. */
  response: Record<string, unknown> | undefined;
}

export interface SeenReply {
  /** As in DeclaredRoute; '(no route)' for replies outside any route (unknown endpoints). */
  route: string;
  status: number;
  /** The key of `schema.response` that serialized the reply ('201', '4xx'); null: JSON.stringify. */
  schemaKey: string | null;
  /** The reply's field names (nested objects as 'item.id'). */
  fields: string[];
  body: string;
}

export interface Mismatch {
  route: string;
  status: number;
  /** JSON.stringify of the handler's object. */
  expected: string;
  sent: string;
}

export class ReplyCheck {
  readonly routes: DeclaredRoute[] = [];
  readonly seen: SeenReply[] = [];
  readonly mismatches: Mismatch[] = [];
  private readonly expected = new WeakMap<FastifyReply, string>();

  install(app: FastifyInstance): void {
    app.addHook('onRoute', (options) => {
      for (const method of [options.method].flat()) {
        if (method === 'HEAD') continue; // fastify's own, sharing the GET route's schema
        this.routes.push({ route: `${method} ${options.url}`, response: options.schema?.response as DeclaredRoute['response'] });
      }
    });
    app.addHook('preSerialization', (_request, reply, payload, done) => {
      this.expected.set(reply, JSON.stringify(payload));
      done(null, payload);
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      const expected = this.expected.get(reply);
      this.expected.delete(reply);
      if (expected !== undefined && typeof payload === 'string') {
        const url = request.routeOptions.url;
        const route = url === undefined ? '(no route)' : `${request.method} ${url}`;
        const status = reply.statusCode;
        const response = request.routeOptions.schema?.response as Record<string, unknown> | undefined;
        const schemaKey = [String(status), `${String(status)[0]}xx`, 'default'].find((k) => response?.[k] !== undefined) ?? null;
        this.seen.push({ route, status, schemaKey, fields: fieldsOf(JSON.parse(payload)), body: payload });
        if (payload !== expected) this.mismatches.push({ route, status, expected, sent: payload });
      }
      done(null, payload);
    });
  }

  /** Throws, showing each, when a reply was not JSON.stringify of the handler's object. */
  assertNoMismatch(): void {
    if (this.mismatches.length === 0) return;
    const lines = this.mismatches.slice(0, 5).map((m) => `${m.route} ${m.status}\n  handler: ${m.expected}\n  sent:    ${m.sent}`);
    throw new Error(`${this.mismatches.length} HTTP replies differ from JSON.stringify of the handler's object:\n${lines.join('\n')}`);
  }
}

/** The field names of a JSON value, nested ones as 'a.b'; array elements share their array's name. */
export function fieldsOf(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => fieldsOf(v, prefix)))];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...fieldsOf(v, `${prefix}${k}.`)]);
}
