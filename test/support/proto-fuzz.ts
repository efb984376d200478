/**
 * Random protobuf wire input for checking a hand-written decoder against the generated one
 * (src/wire/proto-reader.ts and the decoders built on it):
 *
 * - `wireMessage(schema)`: valid but non-canonical encodings of a message: its fields in any
 *   order and repeated, values the generated encoder never writes (any 64-bit varint for an
 *   int32 or bool, padded varints, invalid UTF-8 in strings), known field numbers with
 *   another wire type, and unknown fields of every wire type, groups nested included;
 * - `damaged(bytes)`: such input truncated and with bytes overwritten;
 * - `expectSameOutcome`: the hand decoder returns what the generated one returns (strictly
 *   equal), or throws where it throws; `decoderParityTests` asks it of such input, as tests.
 *
 * String fields never hold `__proto__` (the hand decoders keep such a map key as data, the
 * generated ones drop it: tested on its own).
 */
import fc from 'fast-check';

/** What a field holds: a scalar of the wire format, or a nested message. */
export type FieldKind = 'string' | 'bytes' | 'int32' | 'uint32' | 'int64' | 'bool' | MessageSchema;
export interface MessageSchema {
  [field: number]: FieldKind;
}

/** google.protobuf.Timestamp and Duration. */
export const SECONDS_NANOS: MessageSchema = { 1: 'int64', 2: 'int32' };
export const STRING_MAP_ENTRY: MessageSchema = { 1: 'string', 2: 'string' };
export const ENTRY_ERROR: MessageSchema = { 1: 'int32', 2: 'string', 3: 'string' };

const TWO_64 = 2n ** 64n;

/** A varint of `value` (below 2^64), with up to `pad` bytes of needless zero continuation, at most 10 bytes in all. */
function varint(value: bigint, pad = 0): number[] {
  const out: number[] = [];
  do {
    out.push(Number(value & 0x7fn));
    value >>= 7n;
  } while (value > 0n);
  for (let i = 0; i < pad && out.length < 10; i++) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return out;
}

const tag = (field: number, wireType: number, pad = 0): number[] => varint(BigInt(field * 8 + wireType), pad);
const delimited = (field: number, body: Uint8Array | number[], pad = 0): number[] => [...tag(field, 2, pad), ...varint(BigInt(body.length)), ...body];

/** Mostly canonical, sometimes padded. */
const padding = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) });
const anyU64 = fc.bigInt({ min: 0n, max: TWO_64 - 1n });
/** An int64 as the wire carries it (two's complement), mostly in Number's safe range. */
const int64 = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map((n) => BigInt.asUintN(64, BigInt(n))) },
  { weight: 1, arbitrary: anyU64 },
);
/** An int32, uint32 or bool: mostly what an encoder writes, sometimes any 64-bit varint. */
const small = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }).map((n) => BigInt.asUintN(64, BigInt(n))) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, 2n ** 32n, 2n ** 63n) },
  { weight: 1, arbitrary: anyU64 },
);
const text = fc
  .oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constant(''))
  .filter((s) => s !== '__proto__')
  .map((s) => [...Buffer.from(s)]);
/** String bytes: mostly UTF-8, sometimes anything (invalid UTF-8 reads as U+FFFD). */
const stringBytes = fc.oneof({ weight: 3, arbitrary: text }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((a) => [...a]) });

function knownField(field: number, kind: FieldKind, depth: number): fc.Arbitrary<number[]> {
  switch (kind) {
    case 'string':
      return fc.tuple(stringBytes, padding).map(([b, pad]) => delimited(field, b, pad));
    case 'bytes':
      return fc.tuple(fc.uint8Array({ maxLength: 40 }), padding).map(([b, pad]) => delimited(field, b, pad));
    case 'int64':
      return fc.tuple(int64, padding).map(([v, pad]) => [...tag(field, 0, pad), ...varint(v)]);
    case 'int32':
    case 'uint32':
    case 'bool':
      return fc.tuple(small, padding).map(([v, pad]) => [...tag(field, 0, pad), ...varint(v, pad)]);
    default:
      return fc.tuple(fields(kind, depth + 1), padding).map(([b, pad]) => delimited(field, b, pad));
  }
}

/**
 * A field of any wire type but end-group and `except`: varint, fixed64, length-delimited,
 * fixed32, or a group of such fields (nested a few deep).
 */
function otherField(field: fc.Arbitrary<number>, depth: number, except = -1): fc.Arbitrary<number[]> {
  const kinds: [number, fc.Arbitrary<number[]>][] = [
    [0, fc.tuple(field, anyU64, fc.nat(3)).map(([f, v, pad]) => [...tag(f, 0), ...varint(v, pad)])],
    [1, fc.tuple(field, fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([f, b]) => [...tag(f, 1), ...b])],
    [2, fc.tuple(field, fc.uint8Array({ maxLength: 12 })).map(([f, b]) => delimited(f, b))],
    [5, fc.tuple(field, fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([f, b]) => [...tag(f, 5), ...b])],
  ];
  if (depth < 3) {
    const inner = fc.array(otherField(field, depth + 1), { maxLength: 3 });
    kinds.push([3, fc.tuple(field, inner).map(([f, body]) => [...tag(f, 3), ...body.flat(), ...tag(f, 4)])]);
  }
  return fc.oneof(...kinds.filter(([wireType]) => wireType !== except).map(([, arbitrary]) => arbitrary));
}

const wireTypeOf = (kind: FieldKind): number => (kind === 'int32' || kind === 'uint32' || kind === 'int64' || kind === 'bool' ? 0 : 2);

function fields(schema: MessageSchema, depth: number): fc.Arbitrary<number[]> {
  const known = Object.keys(schema).map(Number);
  const unknownNumber = fc.integer({ min: 1, max: 2 ** 29 - 1 }).filter((f) => !known.includes(f));
  const field = fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...known.map((f) => knownField(f, schema[f], depth))) },
    { weight: 1, arbitrary: otherField(unknownNumber, 0) },
    { weight: 1, arbitrary: fc.oneof(...known.map((f) => otherField(fc.constant(f), 0, wireTypeOf(schema[f])))) }, // a known number, another wire type
  );
  return fc.array(field, { maxLength: depth === 0 ? 8 : 5 }).map((fs) => fs.flat());
}

/** Valid, non-canonical encodings of messages of `schema` (see the header). */
export const wireMessage = (schema: MessageSchema): fc.Arbitrary<Buffer> => fields(schema, 0).map((b) => Buffer.from(b));

/** `bytes` cut short and with a few bytes overwritten. */
export const damaged = (bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc.tuple(bytes, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 })).map(([b, cut, flips]) => {
    const out = Buffer.from(b.subarray(0, b.length === 0 ? 0 : cut % (b.length + 1)));
    for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value;
    return out;
  });

/** The hand decoder reads `bytes` as the generated one: the same object, or a throw where it throws. */
export function expectSameOutcome<T>(hand: (b: Buffer) => T, generated: (b: Uint8Array) => T, bytes: Buffer): void {
  let expected: T;
  try {
    expected = generated(bytes);
  } catch {
    expect(() => hand(bytes)).toThrow();
    return;
  }
  expect(hand(bytes)).toStrictEqual(expected);
}

export interface DecoderCase {
  name: string;
  hand: (b: Buffer) => unknown;
  generated: (b: Uint8Array) => unknown;
  /** The message the decoders read, as the wire sees it. */
  schema: MessageSchema;
}

/** The two property tests of a hand decoder against the generated one (registered in the calling test file). */
export function decoderParityTests(cases: DecoderCase[]): void {
  test.each(cases)('$name: fields in any order, repeated (the last scalar wins), with unknown fields of every wire type', ({ hand, generated, schema }) => {
    fc.assert(
      fc.property(wireMessage(schema), (bytes) => expectSameOutcome(hand, generated, bytes)),
      { numRuns: 400 },
    );
  });

  test.each(cases)('$name: damaged and random bytes throw exactly when the generated decoder throws', ({ hand, generated, schema }) => {
    const random = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(fc.oneof(damaged(wireMessage(schema)), random), (bytes) => expectSameOutcome(hand, generated, bytes)),
      { numRuns: 600 },
    );
  });
}
