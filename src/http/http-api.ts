/**
 * The HTTP JSON API server (fastify): the original CoraMQ API on the same broker and
 * storage as gRPC. Assembly, the request lifecycle (auth, shutdown, logging) and graceful
 * close; the endpoints are in routes.ts.
 *
 * Invariants: every reply is application/json, errors included (fastify's own: malformed
 * JSON, unknown routes, bodies over the limit, bad URLs, malformed HTTP); bad input is a
 * 4xx, never a 500. With --auth-token every route but GET /health needs the bearer token.
 * `close()` answers new requests 503, ends open dequeues with 503, lets running requests
 * finish within the grace period, then drops what is left.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config';
import type { Broker } from '../engine/broker';
import { errors } from '../errors';
import type { Logger } from '../logger';
import { bearerCheck } from '../server/auth';
import type { Storage } from '../storage/journal';
import { ERROR_CODE_HEADER, HttpProblem, schemaError, toErrorReply, type Subject } from './error-replies';
import type { LongPoll } from './long-poll';
import { installJsonBodies } from './request-body';
import { registerRoutes } from './routes';

/** Longest path parameter: item ids are up to 128 characters, percent-encoding triples that. */
const MAX_PARAM_LENGTH = 1024;
/** Routes open without a token. */
const OPEN_ROUTES = new Set(['/health']);

export interface HttpApiDeps {
  readonly config: ServerConfig;
  readonly broker: Broker;
  readonly storage: Storage;
  readonly log: Logger;
  /** Called with the fastify instance before the routes are registered (tests add hooks). */
  readonly extend?: (app: FastifyInstance) => void;
}

export interface HttpApi {
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Graceful close: see the header. */
  close(graceMs: number): Promise<void>;
}

/** Request lines at debug level (a queue server's info log is not an access log). */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, 'request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.warn({ err: error, statusCode: reply.statusCode }, 'reply failed');
    else reply.log.debug({ statusCode: reply.statusCode, ms: reply.elapsedTime }, 'replied');
  }
}

export async function startHttpApi(deps: HttpApiDeps): Promise<HttpApi> {
  const { config } = deps;
  const log = deps.log.child({ api: 'http' });
  const bodyLimit = config.httpMaxBodyBytes;
  const tls = config.tlsCert !== null && config.tlsKey !== null ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
  const polls = new Set<LongPoll>();
  const authenticate = bearerCheck(config.authToken);
  let closing = false;

  const sendError = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const r = toErrorReply(err, subjectOf(request), bodyLimit);
    if (r.unexpected) request.log.error({ err }, 'unexpected error');
    if (r.code !== null) reply.header(ERROR_CODE_HEADER, r.code);
    if (r.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    void reply.code(r.statusCode).type('application/json; charset=utf-8').send(r.body);
  };

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit,
    serverFactory: (handler) => createNodeServer(handler, tls, config.httpRequestTimeoutMs),
    return503OnClosing: false, // our own 503, in our body format (onRequest below)
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter: schemaError,
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    clientErrorHandler: (err, socket) => malformedRequest(err, socket),
  });

  installJsonBodies(app);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new HttpProblem(404, `no such endpoint: ${request.method} ${request.url.split('?')[0].slice(0, 200)}`), request, reply),
  );
  app.addHook('onRequest', async (request, reply) => {
    if (closing) {
      reply.header('connection', 'close');
      throw errors.shuttingDown();
    }
    if (!OPEN_ROUTES.has(request.routeOptions.url ?? '')) {
      authenticate(request.headers.authorization, "the header 'Authorization: Bearer <token>'");
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close'); // so keep-alive sockets do not hold up close()
  });
  deps.extend?.(app);
  registerRoutes(app, { broker: deps.broker, storage: deps.storage, limits: config.limits, polls });

  try {
    await app.listen({ host: config.host, port: config.httpPort ?? 0 });
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${tls === null ? 'http' : 'https'}://${host}:${port}`;
  log.info({ url, tls: tls !== null, auth: config.authToken !== null, bodyLimit }, 'HTTP API listening');

  let closed: Promise<void> | null = null;
  const close = (graceMs: number): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      for (const poll of [...polls]) poll.shutdown();
      const done = app.close();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      if ((await Promise.race([done, graceOver])) === 'timeout') {
        log.warn({ graceMs }, 'HTTP requests still running after the grace period: closing their connections');
        app.server.closeAllConnections();
      }
      clearTimeout(timer);
      await done;
    })();
    return closed;
  };

  return { port, url, close };
}

/**
 * The Node server under fastify (HTTPS with the gRPC certificate when TLS is on). A client
 * gets `requestTimeout` to send a whole request; fastify's own default, none, would let a
 * slow sender hold a socket forever. Node checks it on an interval, set here often enough
 * for the limit. Keep-alive idles 72 s (fastify's choice: beyond common load balancers' 60).
 */
function createNodeServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls: { cert: Buffer; key: Buffer } | null,
  requestTimeout: number,
): HttpServer {
  const options = {
    requestTimeout,
    headersTimeout: Math.min(60_000, requestTimeout),
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 4))),
  };
  const server = tls === null ? createHttpServer(options, handler) : createHttpsServer({ ...options, ...tls }, handler);
  server.keepAliveTimeout = 72_000;
  return server;
}

/** The queue and item an error reply may name (the original's bodies carry them). */
function subjectOf(request: FastifyRequest): Subject {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
  const pick = (key: string): string | undefined => {
    const value = params[key] ?? body[key];
    return typeof value === 'string' ? value : undefined;
  };
  return { queueName: pick('queueName'), itemId: pick('itemId') };
}

/** A request Node's HTTP parser refused: answer in JSON when the socket can still take it. */
function malformedRequest(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request took too long to arrive']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ status: 'error', message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
