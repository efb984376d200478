/**
 * A bidirectional stream of batches (EnqueueStream, AckStream): each request is handled as
 * it arrives (validate, call the broker) and answered in the order the requests came, each
 * once its changes are durable. A batch that fails as a whole is answered with its error and
 * the stream goes on; so is a request that cannot be decoded (UNDECODABLE_REQUEST: the
 * gRPC framing still delimits the next one, so nothing after it is lost).
 *
 * Invariants: responses leave in request order (a later batch whose commit is already done
 * waits behind an earlier one); when grpc-js's write buffer is full the stream stops reading
 * requests until 'drain' (so a fast producer is held back by HTTP/2 flow control, not by
 * memory); at shutdown, requests already handled are answered, the rest are not handled,
 * and the stream ends with UNAVAILABLE.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { EntryError } from '../../generated/coramq/v1/queue';
import { errors, type CoraError } from '../errors';
import type { Logger } from '../logger';
import type { Storage } from '../storage/journal';
import type { Authenticator } from './auth';
import { toEntryError, toStatus } from './grpc-status';
import { UndecodableRequest } from './undecodable-request';

/** A stream the server ends at shutdown. */
export interface OpenStream {
  shutdown(): void;
}

export interface BatchStreamDeps {
  readonly log: Logger;
  readonly storage: Storage;
  readonly authenticate: Authenticator;
  readonly streams: Set<OpenStream>;
}

interface Pending<Res> {
  response: Res;
  ready: boolean;
}

export function batchStream<Req, Res>(
  deps: BatchStreamDeps,
  rpc: string,
  handle: (request: Req) => Res,
  failed: (error: EntryError) => Res,
) {
  return (call: ServerDuplexStream<Req, Res>): void => {
    const log = deps.log.child({ rpc, peer: call.getPeer() });
    try {
      deps.authenticate(call.metadata);
    } catch (err) {
      call.emit('error', toStatus(err, log));
      return;
    }
    const pending: Pending<Res>[] = [];
    let head = 0;
    let closing: CoraError | null = null;
    let clientDone = false;
    let ended = false;

    const end = (error: CoraError | null): void => {
      if (ended) return;
      ended = true;
      deps.streams.delete(stream);
      if (error === null) call.end();
      else call.emit('error', toStatus(error, log));
    };
    const flush = (): void => {
      while (head < pending.length && pending[head].ready) {
        const { response } = pending[head];
        pending[head++] = undefined as unknown as Pending<Res>;
        if (!ended && !call.write(response)) call.pause();
      }
      if (head === pending.length) {
        pending.length = head = 0;
        if (closing !== null) end(closing);
        else if (clientDone) end(null);
      }
    };
    const stream: OpenStream = {
      shutdown() {
        closing ??= errors.shuttingDown();
        call.pause();
        flush();
      },
    };
    deps.streams.add(stream);

    call.on('data', (request: Req) => {
      if (closing !== null || ended) return;
      let response: Res;
      try {
        if (request instanceof UndecodableRequest) throw request.error;
        response = handle(request);
      } catch (err) {
        response = failed(toEntryError(err, log));
      }
      const entry: Pending<Res> = { response, ready: false };
      pending.push(entry);
      const durable = deps.storage.commit();
      if (durable === null) {
        entry.ready = true;
        flush();
      } else {
        durable.then(
          () => {
            entry.ready = true;
            flush();
          },
          (err: CoraError) => {
            closing = err;
            end(err);
          },
        );
      }
    });
    call.on('drain', () => call.resume());
    call.on('end', () => {
      clientDone = true;
      flush();
    });
    call.on('cancelled', () => {
      ended = true;
      deps.streams.delete(stream);
    });
  };
}
