/**
 * The most attributes a message may have (--max-attributes at its limit), dead-lettered so it
 * gains every dead-letter attribute, still fits its log record and comes back after a restart.
 */
import { MAX_ATTRIBUTES } from '../../../src/config';
import { DLQ_ATTRIBUTE } from '../../../src/engine/queue';
import { RecordingSink } from '../../support/engine';
import { openWal, tempDir } from '../../support/wal';

test(`a message with ${MAX_ATTRIBUTES} attributes, dead-lettered, comes back with all of them and the dead-letter ones`, async () => {
  const dir = tempDir();
  const options = { segmentSize: 16 * 1024 * 1024 };
  const w = await openWal(dir, options);
  w.broker.createQueue('dlq');
  w.broker.createQueue('q', { maxDeliveries: 1, deadLetterQueue: 'dlq' });
  // The id is taken in the dead-letter queue, so the copy also gets the original-id attribute.
  w.broker.enqueue('dlq', { id: 'big', payload: Buffer.from('other'), priority: 0, delayMs: 0, attributes: {} });
  const attributes: Record<string, string> = {};
  for (let i = 0; i < MAX_ATTRIBUTES; i++) attributes[`k${i}`] = 'v';
  w.broker.enqueue('q', { id: 'big', payload: Buffer.from('hello'), priority: 0, delayMs: 0, attributes });
  const sink = new RecordingSink();
  w.broker.subscribe('q', { maxInFlight: 1, visibilityTimeoutMs: 1000, maxMessages: 1, idleMs: null, deadlineAt: null }, sink);
  expect(w.broker.nack('q', 'big', sink.got[0].receipt, 0)).toBe(true);
  const dead = w.broker.queue('dlq').messages()[1];
  expect(Object.keys(dead.attributes)).toHaveLength(65_535);
  await w.close();

  const again = await openWal(dir, options);
  const back = again.broker.queue('dlq').messages()[1];
  expect(back.id).toBe(dead.id);
  expect(Buffer.from(back.payload).toString()).toBe('hello');
  expect(back.attributes).toEqual({ ...attributes, ...Object.fromEntries(Object.values(DLQ_ATTRIBUTE).map((k) => [k, dead.attributes[k]])) });
  expect(back.attributes[DLQ_ATTRIBUTE.originalId]).toBe('big');
  await again.close();
});
