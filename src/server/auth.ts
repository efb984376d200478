/**
 * Bearer-token authentication for QueueService calls and HTTP API requests (when
 * --auth-token is set). The comparison takes the same time whatever the token sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { CoraError } from '../errors';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export type Authenticator = (metadata: Metadata) => void;

/** Checks an `authorization` value; `how` tells a person how to send it (in the error). */
export type BearerCheck = (header: unknown, how: string) => void;

export function bearerCheck(token: string | null): BearerCheck {
  if (token === null) return () => {};
  const expected = digest(token);
  return (header, how) => {
    const sent = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
    if (sent === null) throw new CoraError('UNAUTHENTICATED', `missing credentials: send ${how}`);
    if (!timingSafeEqual(digest(sent), expected)) throw new CoraError('UNAUTHENTICATED', 'invalid token');
  };
}

export function bearerAuth(token: string | null): Authenticator {
  const check = bearerCheck(token);
  return (metadata) => check(metadata.get('authorization')[0], "metadata 'authorization: Bearer <token>'");
}
