/**
 * A long-poll whose client is gone before its handler runs (the socket closed while the
 * request went through fastify's hooks): its 'close' came and went, so the poll must not
 * wait, hold a consumer, or lease a message to no one.
 */
import { connect } from 'node:net';
import { until } from '../support/http';
import { startTestServer } from '../support/server';

test('a dequeue whose client left before the handler ran ends at once and takes nothing', async () => {
  let replied = false;
  const t = await startTestServer({
    config: (c) => {
      c.httpPort = 0;
    },
    extendHttp: (app) => {
      // Holds the dequeue until its client has gone, so the handler runs after the 'close'.
      app.addHook('preHandler', async (request) => {
        if (!request.url.includes('/dequeue')) return;
        const socket = request.raw.socket;
        if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
      });
      app.addHook('onSend', async (request) => {
        if (request.url.includes('/dequeue')) replied = true;
      });
    },
  });
  try {
    t.server.broker.createQueue('q');
    const socket = connect(t.server.http!.port, '127.0.0.1', () => {
      socket.write('POST /queues/q/dequeue?wait=30 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    await new Promise((resolve) => socket.once('close', resolve));
    await until(() => replied);
    const q = t.server.broker.queue('q');
    expect(q.stats(t.clock.now()).consumers).toBe(0);
    t.server.broker.enqueue('q', { id: 'm', payload: Buffer.from('x'), priority: 0, delayMs: 0, attributes: {} });
    expect(q.messages().map((m) => [m.id, m.state, m.deliveryCount])).toEqual([['m', 'ready', 0]]);
  } finally {
    await t.close();
  }
});
