/**
 * The contract from Python: stubs generated from proto/ by Debian's grpc_tools into a
 * temporary directory, and a scenario through them (test/polyglot/py/stub_scenario.py)
 * against a real server on a manual clock. The whole transcript must be what the contract
 * says: priorities, leases, receipts, and every error as the status and coramq-error-code
 * of the catalogue (src/errors.ts, documented in docs/ERRORS.md).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors';
import { REPO, runPython, withPythonStubs } from '../support/python';

const SCENARIO = join(REPO, 'test', 'polyglot', 'py', 'stub_scenario.py');

/** A failed call as the scenario prints it: the catalogue's status, and the code in the trailer. */
const fails = (code: ErrorCode) => ({ error: { status: status[ERROR_CATALOGUE[code].grpc], errorCode: code } });
const base64 = (s: string): string => Buffer.from(s).toString('base64');

// The manual clock starts at 1_700_000_000_000 ms.
const T0 = '2023-11-14T22:13:20Z';
const config = { visibilityTimeout: '30s', maxDeliveries: 3, maxDepth: '10000000' };
const queue = (stats: Record<string, unknown>) => ({ response: { queue: { name: 'py-orders', config, stats, createdAt: T0 } } });

const EXPECTED: Record<string, unknown>[] = [
  { step: 'create', ...queue({ oldestReadyAge: '0s' }) },
  { step: 'create again', ...fails('QUEUE_EXISTS') },
  { step: 'enqueue low', response: { id: 'low' } },
  { step: 'enqueue high-a', response: { id: 'high-a' } },
  { step: 'enqueue mid', response: { id: 'mid' } },
  { step: 'enqueue high-b', response: { id: 'high-b' } },
  { step: 'enqueue below-zero', response: { id: 'below-zero' } },
  { step: 'enqueue mid again', response: { id: 'mid', duplicate: true } },
  { step: 'enqueue without id', idLength: 26, duplicate: false },
  {
    step: 'dequeue five',
    delivered: [['high-a', 9, 1], ['high-b', 9, 1], ['mid', 5, 1], ['low', 1, 1], ['below-zero', -3, 1]],
    end: { status: 'OK' },
  },
  {
    step: 'first delivery',
    message: { id: 'high-a', queue: 'py-orders', payload: base64('high-a'), priority: 9, enqueuedAt: T0, deliveryCount: 1, visibleAt: '2023-11-14T22:13:50Z' },
    receiptLength: 22,
  },
  { step: 'ack high-a', response: {} },
  { step: 'ack high-a twice', ...fails('MESSAGE_NOT_IN_FLIGHT') },
  {
    step: 'stats after expiry',
    ...queue({ ready: '5', oldestReadyAge: '30.001s', enqueuedTotal: '6', deliveredTotal: '5', ackedTotal: '1', expiredTotal: '4' }),
  },
  { step: 'dequeue one', delivered: [['high-b', 9, 2]], end: { status: 'OK' } },
  { step: 'new receipt', differs: true },
  { step: 'ack with the stale receipt', ...fails('STALE_RECEIPT') },
  { step: 'ack with the new receipt', response: {} },
  { step: 'dequeue mid', delivered: [['mid', 5, 2]], end: { status: 'OK' } },
  { step: 'nack mid for 5 s', response: {} },
  { step: 'extend a message not in flight', ...fails('MESSAGE_NOT_IN_FLIGHT') },
  { step: 'get a missing queue', ...fails('QUEUE_NOT_FOUND') },
  { step: 'enqueue to a bad queue name', ...fails('INVALID_QUEUE_NAME') },
  { step: 'enqueue a payload over 256 KiB', ...fails('PAYLOAD_TOO_LARGE') },
  { step: 'enqueue a reserved attribute', ...fails('INVALID_ARGUMENT') },
  { step: 'create with a missing dead-letter queue', ...fails('DEAD_LETTER_QUEUE_NOT_FOUND') },
  { step: 'dequeue a missing queue', delivered: [], end: fails('QUEUE_NOT_FOUND').error },
  { step: 'dequeue with a 13 h lease', delivered: [], end: fails('INVALID_ARGUMENT').error },
  {
    step: 'final stats',
    ...queue({ ready: '3', delayed: '1', oldestReadyAge: '30.001s', enqueuedTotal: '6', deliveredTotal: '7', ackedTotal: '2', nackedTotal: '1', expiredTotal: '4' }),
  },
];

describe('Python stubs generated from proto/', () => {
  const python = withPythonStubs('contract');

  test('grpc_tools generates the messages and the service stub', () => {
    expect(existsSync(join(python.stubs, 'coramq', 'v1', 'queue_pb2.py'))).toBe(true);
    expect(existsSync(join(python.stubs, 'coramq', 'v1', 'queue_pb2_grpc.py'))).toBe(true);
  });

  test('a scenario through them sees exactly what the contract says', async () => {
    const transcript: Record<string, unknown>[] = [];
    const { t, stubs } = python;
    const run = await runPython([SCENARIO, t.server.address], {
      pythonPath: [stubs],
      onLine: (line) => {
        const event = JSON.parse(line) as Record<string, unknown>;
        if (typeof event.advance_ms !== 'number') {
          transcript.push(event);
          return undefined;
        }
        t.clock.advance(event.advance_ms);
        return 'ok';
      },
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(transcript).toEqual(EXPECTED);
  });
});
