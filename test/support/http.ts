/**
 * A real CoraMQ server with its HTTP JSON API on 127.0.0.1:0 (and gRPC beside it, on the
 * same queues), and a small client over Node's fetch that keeps the exact bytes of every
 * reply. The server runs on a manual clock unless told otherwise. Every reply is checked
 * against JSON.stringify of its handler's object (reply-check.ts): close() fails otherwise.
 */
import { connect } from 'node:net';
import type { ServerConfig } from '../../src/config';
import type { Storage } from '../../src/storage/journal';
import { ManualClock } from './manual-clock';
import { ReplyCheck } from './reply-check';
import { startTestServer, type TestServer } from './server';

export interface HttpReply {
  status: number;
  headers: Headers;
  /** The body exactly as sent. */
  text: string;
  /** The body parsed (undefined when it is not JSON). */
  json: any;
}

export interface HttpTestServer extends TestServer {
  /** Base URL of the HTTP API. */
  url: string;
  /** Every reply checked against JSON.stringify of its handler's object; close() fails on a mismatch. */
  replies: ReplyCheck;
  /**
   * One request. `body`: an object is sent as JSON with Content-Type application/json; a
   * string is sent as is (set the Content-Type in `headers` if it needs one).
   */
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<HttpReply>;
}

export async function startHttpTestServer(
  options: { config?: (c: ServerConfig) => void; clock?: ManualClock | 'system'; storage?: Storage } = {},
): Promise<HttpTestServer> {
  const replies = new ReplyCheck();
  const t = await startTestServer({
    ...options,
    config: (c) => {
      c.httpPort = 0;
      options.config?.(c);
    },
    extendHttp: (app) => replies.install(app),
  });
  if (t.server.http === null) throw new Error('the HTTP API did not start');
  const url = t.server.http.url;
  const close = async (): Promise<void> => {
    await t.close();
    replies.assertNoMismatch();
  };
  return { ...t, url, replies, close, http: (method, path, body, headers, signal) => httpRequest(url, method, path, body, headers, signal) };
}

export async function httpRequest(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<HttpReply> {
  const init: RequestInit = { method, headers: { ...headers }, signal };
  if (typeof body === 'string') init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Resolves once `cond` holds, checking after each turn of the event loop (no sleeping). */
export async function until(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}

/** Lets `n` turns of the event loop pass (for checking that something has not happened). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Writes `text` to a fresh TCP connection to the HTTP port; resolves with all the server sent once it closes. */
export function rawExchange(t: HttpTestServer, text: string): Promise<string> {
  const { port } = t.server.http as { port: number };
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}
