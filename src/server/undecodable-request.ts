/**
 * Requests the server cannot decode. grpc-js answers any throw from a request deserializer
 * with INTERNAL "Error deserializing request" and no trailer; yet such a request is the
 * caller's mistake (bytes that are not the message, or a 64-bit field beyond the 2^53-1 a
 * JavaScript number holds exactly, as a Go client's math.MaxUint64 "no limit"). So every
 * QueueService (and reflection, and health) deserializer is wrapped: a throw returns an
 * `UndecodableRequest` holding an UNDECODABLE_REQUEST CoraError (INVALID_ARGUMENT), which the
 * handlers (rpc.ts, queue-service.ts, batch-stream.ts) raise as any other bad request; the
 * health service's handlers are grpc-health-check's, so `withTolerantHandlers` raises it
 * before they run.
 *
 * Invariants: the success path costs one try/catch and allocates nothing; the failure path
 * walks the bytes against the method's input descriptor (generated/descriptor-set.binpb)
 * to say which field is wrong, reading as the generated ts-proto decoders (and the batch
 * codecs, which read as they do) read, so it finds the problem they threw on. Other decoders
 * (protobuf-es's for reflection, protobufjs's for health) read a known field sent with another
 * wire type as its type, where ts-proto skips it: when the walk finds no problem, the first
 * such field is the reason, else the decoder's own error message.
 */
import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { StatusObject } from '@grpc/grpc-js';
import { CoraError } from '../errors';
import type { Logger } from '../logger';
import { descriptorIndex } from './descriptor-index';
import { toStatus } from './grpc-status';

export class UndecodableRequest {
  constructor(readonly error: CoraError) {}
}

type Deserialize<T> = (bytes: Buffer) => T;

/**
 * `decode` that returns an UndecodableRequest instead of throwing. Typed as `decode` is:
 * the handler of every wrapped method checks `instanceof UndecodableRequest` first.
 */
export function tolerant<T>(path: string, decode: Deserialize<T>): Deserialize<T> {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (err) {
      return new UndecodableRequest(undecodable(path, bytes, err)) as T;
    }
  };
}

/** A service definition whose request deserializers are all tolerant(). */
export function withTolerantDecoders<D extends Record<string, { path: string; requestDeserialize: Deserialize<unknown> }>>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    out[key] = { ...method, requestDeserialize: tolerant(method.path, method.requestDeserialize) };
  }
  return out as D;
}

type Handler = (call: { request?: unknown; emit(event: 'error', status: StatusObject): unknown }, callback?: (status: StatusObject) => void) => void;

/**
 * A service whose handlers are not ours (grpc-health-check's Health), made to refuse what it
 * cannot decode: its decoders tolerant(), and a handler whose request is an UndecodableRequest
 * ends the call with that status instead of running: a unary call through its callback, a
 * server stream with 'error' (how grpc-js ends one with a status). Only for services whose
 * requests are `call.request`: a request stream's handler would be given UndecodableRequests.
 */
export function withTolerantHandlers<D extends Record<string, { path: string; requestStream: boolean; requestDeserialize: Deserialize<unknown> }>, I>(
  definition: D,
  implementation: I,
  log: Logger,
): [D, I] {
  const streaming = Object.values(definition).find((m) => m.requestStream);
  if (streaming !== undefined) throw new Error(`withTolerantHandlers: ${streaming.path} streams requests; its handler must check each one`);
  const guarded: Record<string, Handler> = {};
  for (const [key, handler] of Object.entries(implementation as Record<string, Handler>)) {
    guarded[key] = (call, callback) => {
      if (!(call.request instanceof UndecodableRequest)) return handler(call, callback);
      const refused = toStatus(call.request.error, log);
      if (callback !== undefined) callback(refused);
      else call.emit('error', refused);
    };
  }
  return [withTolerantDecoders(definition), guarded as I];
}

const MAX = Number.MAX_SAFE_INTEGER;

/** The error for `bytes` sent to the method at `path` (`/pkg.Service/Method`), whose decoder threw `cause`. */
export function undecodable(path: string, bytes: Uint8Array, cause: unknown): CoraError {
  const input = inputOf(path);
  const what = input === undefined ? 'the request could not be decoded' : `the request could not be decoded as ${input.typeName}`;
  const at: Walk = { field: '', wrongWireType: null };
  let reason: string | null = null;
  if (input !== undefined) {
    try {
      reason = beyondSafe(input, new BinaryReader(bytes), bytes.length, '', at);
    } catch (err) {
      reason = readProblem(err) + (at.field === '' ? '' : ` (in ${at.field})`);
    }
  }
  reason ??= at.wrongWireType ?? (cause instanceof Error ? readProblem(cause) : String(cause));
  return new CoraError('UNDECODABLE_REQUEST', `${what}: ${reason}`);
}

function inputOf(path: string): DescMessage | undefined {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  if (service === undefined) return undefined;
  try {
    return descriptorIndex().registry.getService(service)?.methods.find((m) => m.name === method)?.input;
  } catch {
    return undefined; // no descriptor set: the decoder's message will do
  }
}

/** Where a walk is (the field being read), and the first field it found of a wire type its type does not take. */
interface Walk {
  field: string;
  wrongWireType: string | null;
}

const WIRE_TYPE_NAMES = ['varint', '64-bit', 'length-delimited', 'start group', 'end group', '32-bit'];
const wireTypeName = (w: WireType): string => `wire type ${w} (${WIRE_TYPE_NAMES[w] ?? 'undefined'})`;

/** Skips a field sent as `wireType`, which its type (`typeName`, sent as `expected`) does not take, noting the first. */
function skipWrong(r: BinaryReader, wireType: WireType, no: number, at: Walk, name: string, typeName: string, expected: WireType): void {
  at.wrongWireType ??= `${name} has ${wireTypeName(wireType)}; its type, ${typeName}, takes ${wireTypeName(expected)}`;
  r.skip(wireType, no);
}

/**
 * Walks a message as ts-proto decodes it (a zero or end-group tag ends it, a known field is
 * read when its wire type is the expected one and skipped otherwise, a nested message reads
 * to its length and the outer one goes on from there) and returns the first 64-bit field
 * beyond ±(2^53-1), described; null when there is none. Throws where the bytes are broken,
 * with `at.field` the field being read.
 */
function beyondSafe(desc: DescMessage, r: BinaryReader, end: number, prefix: string, at: Walk): string | null {
  const seen = new Map<number, number>();
  while (r.pos < end) {
    at.field = prefix.replace(/\.$/, '');
    const tag = r.uint32();
    const wireType = (tag & 7) as WireType;
    if (wireType === WireType.EndGroup || tag === 0) return null;
    const no = tag >>> 3;
    const field = desc.fields.find((f) => f.number === no);
    if (field === undefined) {
      r.skip(wireType, no);
      continue;
    }
    const index = seen.get(no) ?? 0;
    seen.set(no, index + 1);
    const name = prefix + field.name + (field.fieldKind === 'list' || field.fieldKind === 'map' ? `[${index}]` : '');
    at.field = name;
    let found: string | null = null;
    if (field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message')) {
      if (wireType !== WireType.LengthDelimited) skipWrong(r, wireType, no, at, name, field.message.typeName, WireType.LengthDelimited);
      else found = beyondSafe(field.message, r, r.uint32() + r.pos, `${name}.`, at);
    } else if (field.fieldKind === 'map') {
      if (wireType !== WireType.LengthDelimited) skipWrong(r, wireType, no, at, name, 'map', WireType.LengthDelimited);
      else found = mapEntry(field, r, r.uint32() + r.pos, name, at);
    } else {
      const packed = field.fieldKind === 'list' && wireType === WireType.LengthDelimited; // skipped, as before; not a wrong wire type
      found = scalar(field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum') ? ScalarType.INT32 : field.scalar, r, wireType, no, name, packed ? null : at);
    }
    if (found !== null) return found;
  }
  return null;
}

/** A map entry (key = 1, value = 2), read as ts-proto's entry decoders read it. */
function mapEntry(field: DescField & { fieldKind: 'map' }, r: BinaryReader, end: number, name: string, at: Walk): string | null {
  while (r.pos < end) {
    at.field = name;
    const tag = r.uint32();
    const wireType = (tag & 7) as WireType;
    if (wireType === WireType.EndGroup || tag === 0) return null;
    const no = tag >>> 3;
    let found: string | null = null;
    if (no === 1) found = scalar(field.mapKey, r, wireType, no, `${name}.key`, at);
    else if (no === 2 && field.mapKind === 'message') {
      if (wireType !== WireType.LengthDelimited) skipWrong(r, wireType, no, at, `${name}.value`, field.message.typeName, WireType.LengthDelimited);
      else found = beyondSafe(field.message, r, r.uint32() + r.pos, `${name}.value.`, at);
    } else if (no === 2) found = scalar(field.mapKind === 'enum' ? ScalarType.INT32 : (field.scalar ?? ScalarType.INT32), r, wireType, no, `${name}.value`, at);
    else r.skip(wireType, no);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Reads (or, of another wire type, skips) a scalar field; describes a 64-bit value this server
 * cannot hold. A skip is noted in `at` unless it is null (a packed list, which is no mistake).
 */
function scalar(type: ScalarType, r: BinaryReader, wireType: WireType, no: number, name: string, at: Walk | null): string | null {
  if (wireType !== wireTypeOf(type)) {
    if (at === null) r.skip(wireType, no);
    else skipWrong(r, wireType, no, at, name, ScalarType[type].toLowerCase(), wireTypeOf(type));
    return null;
  }
  switch (type) {
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const value = BigInt(read64(r, type));
      if (value > MAX) return `${name} is ${value}, more than 2^53-1 (${MAX}), the largest 64-bit value this server takes`;
      if (value < -MAX) return `${name} is ${value}, less than -(2^53-1) (-${MAX}), the smallest 64-bit value this server takes`;
      return null;
    }
    case ScalarType.BOOL:
      r.bool();
      return null;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      r.bytes();
      return null;
    default:
      if (wireType === WireType.Varint) r.uint32();
      else r.skip(wireType, no);
      return null;
  }
}

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function read64(r: BinaryReader, kind: ScalarType): bigint | string {
  switch (kind) {
    case ScalarType.UINT64:
      return r.uint64();
    case ScalarType.SINT64:
      return r.sint64();
    case ScalarType.FIXED64:
      return r.fixed64();
    case ScalarType.SFIXED64:
      return r.sfixed64();
    default:
      return r.int64();
  }
}

/** A protobuf reader's complaint (protobuf-es's, protobufjs's, or proto-reader.ts's) in words for a person. */
function readProblem(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (/premature EOF|runs past the end|truncated|index out of range/i.test(m)) return 'the bytes end in the middle of a field (a truncated message, or bytes that are not this message)';
  if (/invalid varint|longer than 10 bytes/i.test(m)) return 'a varint runs longer than 10 bytes';
  const wire = /wire type (\d)/.exec(m);
  if (wire !== null && /skip|invalid wire type [67]/.test(m)) return `a field has wire type ${wire[1]}, which protobuf does not define (bytes that are not this message)`;
  if (/field no 0|illegal tag/.test(m)) return `a field tag is not valid (${m})`;
  if (/end group|ends with the tag/.test(m)) return 'a group ends with the end tag of another field';
  if (/invalid wire type 4/.test(m)) return 'a group ends that was never started (a tag of wire type 4, end group)'; // protobufjs's
  if (/recursion depth|nested more than/.test(m)) return 'groups nest too deep';
  if (/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER|2\^53/.test(m)) return `a 64-bit field holds a value beyond ±(2^53-1) (${MAX}), the largest this server takes`;
  return m;
}
