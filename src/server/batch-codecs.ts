/**
 * Hand-written codecs for the batch calls a busy producer or consumer makes all the time:
 * decoders for their requests (EnqueueBatchRequest and EnqueueStreamRequest, which have the
 * same fields; AckBatchRequest and AckStreamRequest, likewise) and encoders for their
 * responses (EnqueueBatchResponse / EnqueueStreamResponse, AckBatchResponse /
 * AckStreamResponse). server.ts puts them in the service definition in place of the
 * generated ones, which spent about a sixth of the server's CPU on these messages.
 *
 * Ensures: the encoders write exactly the generated encoders' bytes (same field order,
 * defaults left out); the decoders read every input as the generated decoders do (the same
 * objects, or an error where those throw: src/wire/proto-reader.ts), except that an
 * attribute named `__proto__` is kept as data, and that a payload is a view of the request
 * rather than a copy (the broker copies it into its payload store and the log before the
 * handler returns, and nothing keeps the request). test/server/batch-codecs.test.ts checks
 * both against the generated code with random messages and random bytes.
 */
import type { AckBatchRequest, AckEntry, AckResult, EnqueueBatchEntry, EnqueueBatchRequest, EnqueueResult, EntryError } from '../../generated/coramq/v1/queue';
import type { Duration } from '../../generated/google/protobuf/duration';
import { fieldSize, ProtoWriter, signedSize, stringSize, utf8Length } from '../wire/proto-writer';
import { ProtoReader, readSecondsNanos, readStringMapEntry } from '../wire/proto-reader';

const EMPTY: Buffer = Buffer.alloc(0);

// ---- requests ----

/** Reads an EnqueueBatchRequest: `queue` = 1, `messages` = 2. */
export const decodeEnqueueBatchRequest = (buf: Buffer): EnqueueBatchRequest => readEnqueueBatch(buf, 'EnqueueBatchRequest');
/** Reads an EnqueueStreamRequest (the fields of an EnqueueBatchRequest). */
export const decodeEnqueueStreamRequest = (buf: Buffer): EnqueueBatchRequest => readEnqueueBatch(buf, 'EnqueueStreamRequest');
/** Reads an AckBatchRequest: `queue` = 1, `entries` = 2. */
export const decodeAckBatchRequest = (buf: Buffer): AckBatchRequest => readAckBatch(buf, 'AckBatchRequest');
/** Reads an AckStreamRequest (the fields of an AckBatchRequest). */
export const decodeAckStreamRequest = (buf: Buffer): AckBatchRequest => readAckBatch(buf, 'AckStreamRequest');

const readEnqueueBatch = (buf: Buffer, what: string): EnqueueBatchRequest => {
  const [queue, messages] = readBatch(buf, what, readEnqueueEntry);
  return { queue, messages };
};

const readAckBatch = (buf: Buffer, what: string): AckBatchRequest => {
  const [queue, entries] = readBatch(buf, what, readAckEntry);
  return { queue, entries };
};

/** The two batch requests differ only in their entries: `queue` = 1, entries = 2 (read by `readEntry`). */
function readBatch<E>(buf: Buffer, what: string, readEntry: (r: ProtoReader, end: number) => E): [string, E[]] {
  const r = new ProtoReader(buf, what);
  let queue = '';
  const entries: E[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) queue = r.string();
    else if (tag === 18) entries.push(readEntry(r, r.fieldEnd()));
    else if (!r.skipField(tag)) break;
  }
  return [queue, entries];
}

function readEnqueueEntry(r: ProtoReader, end: number): EnqueueBatchEntry {
  let id = '';
  let payload = EMPTY;
  let priority = 0;
  let delay: Duration | undefined;
  const attributes: Record<string, string> = {};
  let queue = '';
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        id = r.string();
        continue;
      case 18:
        payload = r.bytes();
        continue;
      case 24:
        priority = r.int32();
        continue;
      case 34:
        delay = readSecondsNanos(r, r.fieldEnd());
        continue;
      case 42:
        readStringMapEntry(r, r.fieldEnd(), attributes);
        continue;
      case 50:
        queue = r.string();
        continue;
    }
    if (!r.skipField(tag)) break;
  }
  return { id, payload, priority, delay, attributes, queue };
}

function readAckEntry(r: ProtoReader, end: number): AckEntry {
  let id = '';
  let receipt = '';
  let queue = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) id = r.string();
    else if (tag === 18) receipt = r.string();
    else if (tag === 26) queue = r.string();
    else if (!r.skipField(tag)) break;
  }
  return { id, receipt, queue };
}

// ---- responses ----

/** Writes an EnqueueStreamResponse (`results` = 1, `error` = 2), or an EnqueueBatchResponse (no `error`). */
export const encodeEnqueueResults = (res: { results: EnqueueResult[]; error?: EntryError }): Buffer => encodeResults(res.results, 26, res.error);
/** Writes an AckStreamResponse (`results` = 1, `error` = 2), or an AckBatchResponse (no `error`). */
export const encodeAckResults = (res: { results: AckResult[]; error?: EntryError }): Buffer => encodeResults(res.results, 18, res.error);

/**
 * The two result messages differ only in EnqueueResult's `duplicate` (field 2) and so in the
 * number of `error`: EnqueueResult {id = 1, duplicate = 2, error = 3}, AckResult {id = 1, error = 2}.
 */
type AnyResult = { id: string; duplicate?: boolean; error: EntryError | undefined };

function encodeResults(results: readonly AnyResult[], errorTag: number, error: EntryError | undefined): Buffer {
  // Per result: the id's UTF-8 length, then the result's body length.
  const sizes = new Array<number>(2 * results.length);
  let total = error === undefined ? 0 : fieldSize(entryErrorSize(error));
  for (let i = 0; i < results.length; i++) {
    const res = results[i];
    const id = (sizes[2 * i] = utf8Length(res.id));
    let body = stringSize(id);
    if (res.duplicate) body += 2;
    if (res.error !== undefined) body += fieldSize(entryErrorSize(res.error));
    sizes[2 * i + 1] = body;
    total += fieldSize(body);
  }
  const out = new ProtoWriter(total);
  for (let i = 0; i < results.length; i++) {
    const res = results[i];
    out.byte(10);
    out.varint(sizes[2 * i + 1]);
    out.string(10, res.id, sizes[2 * i]);
    if (res.duplicate) {
      out.byte(16);
      out.byte(1);
    }
    if (res.error !== undefined) writeEntryError(out, errorTag, res.error);
  }
  if (error !== undefined) writeEntryError(out, 18, error);
  return out.done();
}

/** EntryError {code = 1, reason = 2, message = 3}: rare, so its strings are measured again when written. */
const entryErrorSize = (e: EntryError): number =>
  (e.code !== 0 ? 1 + signedSize(e.code) : 0) + stringSize(utf8Length(e.reason)) + stringSize(utf8Length(e.message));

function writeEntryError(out: ProtoWriter, tag: number, e: EntryError): void {
  out.byte(tag);
  out.varint(entryErrorSize(e));
  if (e.code !== 0) {
    out.byte(8);
    out.signed(e.code);
  }
  out.string(18, e.reason, utf8Length(e.reason));
  out.string(26, e.message, utf8Length(e.message));
}
