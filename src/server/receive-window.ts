/**
 * The server's HTTP/2 receive window: how many bytes a client may send, on one connection and
 * on each of its streams, before the server says it has read them (WINDOW_UPDATE). HTTP/2
 * starts both at 65,535 bytes and grpc-js's server keeps them there (it reads the
 * `grpc-node.flow_control_window` channel option only on the client side).
 *
 * A consumer acks on one AckStream per client, on the connection its deliveries come in on.
 * With 256 subscriptions of 64 in flight, 16,384 acks are on their way at once, about 1 MB of
 * AckStream requests; with 64 KiB of window they waited in the client for the server's
 * WINDOW_UPDATEs, 130-190 ms at p50, and every waiting ack (its promise, its message) was
 * copied by the client's garbage collector meanwhile (bench/README.md, thirteenth session).
 *
 * Each new session gets `bytes` of connection window (`setLocalWindowSize`) and the same per
 * stream (a SETTINGS frame with INITIAL_WINDOW_SIZE). grpc-js has no public way to reach its
 * HTTP/2 sessions, so this reads its list of HTTP/2 servers (`http2Servers`, a private field);
 * `applyReceiveWindow` returns false when that is missing, and test/server/receive-window.test.ts
 * checks what a client is told. The option is also passed to the Server under grpc-js's own
 * name, for a grpc-js that reads it.
 *
 * What it costs: a client may send the server up to `bytes` per connection that the server has
 * not read yet, held in its HTTP/2 session until it reads them.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { HTTP2_DEFAULT_WINDOW } from '../wire/http2-window';

/** grpc-js's name for the option, passed to `new Server()`. */
export function receiveWindowOption(bytes: number): { 'grpc-node.flow_control_window': number } {
  return { 'grpc-node.flow_control_window': bytes };
}

/** Gives every session `server` accepts from now on a receive window of `bytes`; false if grpc-js's servers cannot be reached. */
export function applyReceiveWindow(server: Server, bytes: number): boolean {
  if (bytes === HTTP2_DEFAULT_WINDOW) return true;
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys() as IterableIterator<Http2Server>) {
    http2Server.on('session', (session: ServerHttp2Session) => widen(session, bytes));
  }
  return true;
}

function widen(session: ServerHttp2Session, bytes: number): void {
  if (session.destroyed) return;
  session.setLocalWindowSize(bytes);
  session.settings({ initialWindowSize: bytes });
}
