/**
 * Bearer-token authentication for QueueService calls (when --auth-token is set). The
 * comparison takes the same time whatever the token sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { CoraError } from '../errors';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export type Authenticator = (metadata: Metadata) => void;

export function bearerAuth(token: string | null): Authenticator {
  if (token === null) return () => {};
  const expected = digest(token);
  return (metadata) => {
    const header = metadata.get('authorization')[0];
    const sent = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
    if (sent === null) {
      throw new CoraError('UNAUTHENTICATED', "missing credentials: send metadata 'authorization: Bearer <token>'");
    }
    if (!timingSafeEqual(digest(sent), expected)) throw new CoraError('UNAUTHENTICATED', 'invalid token');
  };
}
