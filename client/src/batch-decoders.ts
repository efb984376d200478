/**
 * Hand-written decoders for the responses a busy client receives most: the results of its
 * enqueue batches (EnqueueStreamResponse, EnqueueBatchResponse) and of its ack batches
 * (AckStreamResponse, AckBatchResponse). connection.ts uses them in place of the generated
 * decoders, on the streams and on the unary calls alike.
 *
 * Ensures: for every input the result deep-equals the generated decoder's, or both throw
 * (the reader, src/wire/proto-reader.ts, reads as the generated code does); a Batch
 * response has no `error`, so there its field 2 is an unknown field, skipped.
 * client/test/batch-decoders.test.ts checks this with random messages and random bytes.
 */
import type { AckBatchResponse, AckResult, AckStreamResponse, EnqueueBatchResponse, EnqueueResult, EnqueueStreamResponse, EntryError } from '../../generated/coramq/v1/queue';
import { ProtoReader } from '../../src/wire/proto-reader';

export function decodeEnqueueStreamResponse(buf: Buffer): EnqueueStreamResponse {
  const [results, error] = readResults(buf, 'EnqueueStreamResponse', true, readEnqueueResult);
  return { results, error };
}

export function decodeEnqueueBatchResponse(buf: Buffer): EnqueueBatchResponse {
  return { results: readResults(buf, 'EnqueueBatchResponse', false, readEnqueueResult)[0] };
}

export function decodeAckStreamResponse(buf: Buffer): AckStreamResponse {
  const [results, error] = readResults(buf, 'AckStreamResponse', true, readAckResult);
  return { results, error };
}

export function decodeAckBatchResponse(buf: Buffer): AckBatchResponse {
  return { results: readResults(buf, 'AckBatchResponse', false, readAckResult)[0] };
}

/** `results` = 1 (read by `readResult`), and `error` = 2 when the message has it. */
function readResults<R>(buf: Buffer, what: string, hasError: boolean, readResult: (r: ProtoReader, end: number) => R): [R[], EntryError | undefined] {
  const r = new ProtoReader(buf, what);
  const results: R[] = [];
  let error: EntryError | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) results.push(readResult(r, r.fieldEnd()));
    else if (tag === 18 && hasError) error = readEntryError(r, r.fieldEnd());
    else if (!r.skipField(tag)) break;
  }
  return [results, error];
}

/** EnqueueResult {id = 1, duplicate = 2, error = 3}. */
function readEnqueueResult(r: ProtoReader, end: number): EnqueueResult {
  let id = '';
  let duplicate = false;
  let error: EntryError | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) id = r.string();
    else if (tag === 16) duplicate = r.bool();
    else if (tag === 26) error = readEntryError(r, r.fieldEnd());
    else if (!r.skipField(tag)) break;
  }
  return { id, duplicate, error };
}

/** AckResult {id = 1, error = 2}. */
function readAckResult(r: ProtoReader, end: number): AckResult {
  let id = '';
  let error: EntryError | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) id = r.string();
    else if (tag === 18) error = readEntryError(r, r.fieldEnd());
    else if (!r.skipField(tag)) break;
  }
  return { id, error };
}

/** EntryError {code = 1, reason = 2, message = 3}. */
function readEntryError(r: ProtoReader, end: number): EntryError {
  let code = 0;
  let reason = '';
  let message = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 8) code = r.int32();
    else if (tag === 18) reason = r.string();
    else if (tag === 26) message = r.string();
    else if (!r.skipField(tag)) break;
  }
  return { code, reason, message };
}
