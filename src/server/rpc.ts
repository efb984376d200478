/**
 * How every unary QueueService call runs: authenticate, run the handler (validate, call
 * the engine, shape the reply), wait until storage has made the call's changes durable,
 * then reply. Errors become gRPC status in one place (grpc-status.ts); a request the server
 * could not decode fails with its UNDECODABLE_REQUEST (undecodable-request.ts).
 */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from '../logger';
import type { Storage } from '../storage/journal';
import type { Authenticator } from './auth';
import { toStatus } from './grpc-status';
import { UndecodableRequest } from './undecodable-request';

export interface RpcContext {
  readonly log: Logger;
  readonly storage: Storage;
  readonly authenticate: Authenticator;
}

export function unary<Req, Res>(
  ctx: RpcContext,
  rpc: string,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Res,
): handleUnaryCall<Req, Res> {
  const fail = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>, err: unknown): void => {
    callback(toStatus(err, ctx.log.child({ rpc, peer: call.getPeer() })));
  };
  return (call, callback) => {
    let response: Res;
    try {
      ctx.authenticate(call.metadata);
      const request = call.request;
      if (request instanceof UndecodableRequest) throw request.error;
      response = handler(request, call);
    } catch (err) {
      fail(call, callback, err);
      return;
    }
    const durable = ctx.storage.commit();
    if (durable === null) callback(null, response);
    else durable.then(() => callback(null, response), (err: unknown) => fail(call, callback, err));
  };
}
