/** RFC 3339 times and item shapes of the HTTP API. */
import fc from 'fast-check';
import { NO_ATTRIBUTES, type DeliveredMessage } from '../../src/engine/message';
import { dequeuedItemJson, itemJson, rfc3339 } from '../../src/http/shapes';

test('rfc3339 names the exact millisecond, in the form Go writes with RFC3339Nano', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => {
      const s = rfc3339(ms);
      expect(Date.parse(s)).toBe(ms); // never earlier or later than the lease end
      expect(s).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,2}[1-9])?Z$/); // no trailing zeros
    }),
    { numRuns: 2000 },
  );
  expect(rfc3339(Date.parse('2024-10-07T12:45:00Z'))).toBe('2024-10-07T12:45:00Z');
  expect(rfc3339(Date.parse('2024-10-07T12:45:00.120Z'))).toBe('2024-10-07T12:45:00.12Z');
  expect(rfc3339(Date.parse('2024-10-07T12:45:00.007Z'))).toBe('2024-10-07T12:45:00.007Z');
});

const message = (payload: Uint8Array, attributes: Record<string, string> = NO_ATTRIBUTES): DeliveredMessage => ({
  id: 'm',
  seq: 1,
  priority: 4,
  payload,
  attributes,
  enqueuedAt: 0,
  deliveryCount: 1,
  queueName: 'q',
  visibleAt: Date.parse('2024-10-07T12:45:00Z'),
  receipt: 'r',
});

test('items keep the original field order; extra fields appear only when they carry something', () => {
  expect(JSON.stringify(dequeuedItemJson(message(Buffer.from('hi'))))).toBe('{"id":"m","payload":"hi","priority":4,"visibilityTimeout":"2024-10-07T12:45:00Z"}');
  expect(JSON.stringify(itemJson(message(Buffer.from([0xc3, 0x28]), { k: 'v' })))).toBe(
    '{"id":"m","payload":"wyg=","priority":4,"payloadEncoding":"base64","attributes":{"k":"v"}}',
  );
});

test('a payload is decoded from its own bytes only, even inside a larger buffer', () => {
  const pool = Buffer.from('xxhelloyy');
  expect(itemJson(message(pool.subarray(2, 7))).payload).toBe('hello');
});

test('any UTF-8 text round-trips as text; anything else as base64 of the same bytes', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'grapheme' }).map((s) => Buffer.from(s, 'utf8')), fc.uint8Array().map((a) => Buffer.from(a))), (bytes) => {
      const item = itemJson(message(bytes));
      const back = item.payloadEncoding === 'base64' ? Buffer.from(item.payload, 'base64') : Buffer.from(item.payload, 'utf8');
      expect(back.equals(bytes)).toBe(true);
    }),
  );
});
