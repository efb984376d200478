/**
 * Server-made ids across a restart. The broker's sequence numbers go on from the highest
 * live one after a restart, so once every message is gone a new message can get the
 * sequence number and slot of an old one: only the time part of their ids differs. An id
 * from before the restart must then name nothing, not the new message.
 */
import { NO_ATTRIBUTES } from '../../../src/engine/message';
import { CoraError } from '../../../src/errors';
import { RecordingSink } from '../../support/engine';
import { openWal, tempDir } from '../../support/wal';

const msg = (id: string | null) => ({ id, payload: Buffer.from('x'), priority: 0, delayMs: 0, attributes: NO_ATTRIBUTES });
const consumer = { maxInFlight: 10, visibilityTimeoutMs: 30_000, maxMessages: Infinity, idleMs: null, deadlineAt: null };

async function oldAndNew(): Promise<{ w: Awaited<ReturnType<typeof openWal>>; oldId: string; newId: string; sink: RecordingSink }> {
  const dir = tempDir();
  const before = await openWal(dir);
  before.broker.createQueue('q');
  const { id: oldId } = before.broker.enqueue('q', msg(null));
  const first = new RecordingSink();
  before.broker.unsubscribe(before.broker.subscribe('q', consumer, first));
  before.broker.ack('q', oldId, first.got[0].receipt);
  await before.close();

  const w = await openWal(dir, {}, before.clock.now() + 60_000);
  const { id: newId } = w.broker.enqueue('q', msg(null));
  const sink = new RecordingSink();
  w.broker.subscribe('q', consumer, sink);
  expect(sink.ids).toEqual([newId]);
  expect(newId).not.toBe(oldId);
  return { w, oldId, newId, sink };
}

test('an ack without receipt (the HTTP API) of an id from before the restart does not ack the new message', async () => {
  const { w, oldId, newId } = await oldAndNew();
  let code: string | undefined;
  try {
    w.broker.ack('q', oldId, null);
  } catch (err) {
    code = (err as CoraError).code;
  }
  expect(code).toBe('MESSAGE_NOT_IN_FLIGHT');
  expect(w.broker.queue('q').messages().map((m) => [m.id, m.state])).toEqual([[newId, 'in-flight']]);
  expect(w.broker.queue('q').message(oldId)).toBeUndefined();
  await w.close();
});

test('an old id used as a client id is enqueued, not answered as a duplicate of the new message', async () => {
  const { w, oldId, newId } = await oldAndNew();
  expect(w.broker.enqueue('q', msg(oldId))).toEqual({ id: oldId, duplicate: false });
  expect(w.broker.queue('q').messages().map((m) => m.id)).toEqual([newId, oldId]);
  await w.close();
});
