/**
 * --receive-window: what an HTTP/2 client of the real server is told it may send before the
 * server's WINDOW_UPDATE, on the connection and on each stream (receive-window.ts).
 */
import * as http2 from 'node:http2';
import { startTestServer, type TestServer } from '../support/server';

let servers: TestServer[] = [];
let sessions: http2.ClientHttp2Session[] = [];

afterEach(async () => {
  for (const s of sessions) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  sessions = [];
});

/**
 * Connects to a server started with `receiveWindow` and returns what the client may send:
 * per stream (the server's INITIAL_WINDOW_SIZE) and on the connection. A PING's answer comes
 * after the frames the server sent when the session began, so both are known by then.
 */
async function windowsOf(receiveWindow: number | null): Promise<{ stream: number; connection: number }> {
  const server = await startTestServer({ config: (c) => receiveWindow !== null && (c.receiveWindow = receiveWindow) });
  servers.push(server);
  const session = http2.connect(`http://${server.server.address}`);
  sessions.push(session);
  await new Promise<void>((resolve, reject) => {
    session.once('error', reject);
    session.once('connect', () => resolve());
  });
  await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
  return { stream: session.remoteSettings.initialWindowSize as number, connection: session.state.remoteWindowSize as number };
}

test('by default a client may send 8 MiB before the server reads it, on the connection and on each stream', async () => {
  expect(await windowsOf(null)).toEqual({ stream: 8 * 1024 * 1024, connection: 8 * 1024 * 1024 });
});

test('--receive-window sets both windows; at 65535 the server keeps HTTP/2 defaults', async () => {
  expect(await windowsOf(3_000_000)).toEqual({ stream: 3_000_000, connection: 3_000_000 });
  expect(await windowsOf(65_535)).toEqual({ stream: 65_535, connection: 65_535 });
});
