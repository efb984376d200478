/** The error catalogue, its gRPC/HTTP mapping and docs/ERRORS.md stay in step. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CoraError, ERROR_CATALOGUE, asCoraError, type ErrorCode } from '../src/errors';

const doc = readFileSync(join(__dirname, '..', 'docs', 'ERRORS.md'), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| ([A-Z_]+) \| (\d+) \|/gm)].map((m) => [m[1], { grpc: m[2], http: Number(m[3]) }]),
);

test('every catalogue code is documented with its gRPC and HTTP status, and nothing else is', () => {
  expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
    expect(rows.get(code)).toEqual({ grpc: status[entry.grpc], http: entry.http });
  }
});

test('a CoraError carries its statuses; anything else becomes INTERNAL', () => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const e = new CoraError(code, 'x');
    expect(e.grpcStatus).toBe(ERROR_CATALOGUE[code].grpc);
    expect(e.httpStatus).toBe(ERROR_CATALOGUE[code].http);
  }
  expect(asCoraError(new TypeError('boom')).code).toBe('INTERNAL');
});
