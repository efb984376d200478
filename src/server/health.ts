/**
 * grpc.health.v1 health checking, for the whole server ('') and for coramq.v1.QueueService.
 *
 * Invariants: both are SERVING while storage works (a full disk included: acks, dequeues and
 * purges still work there, and they are what frees space) and NOT_SERVING once storage has
 * failed (every change is refused until a restart, so a supervisor should restart the
 * server) or shutdown has begun; NOT_SERVING is final. Watchers are told of each change.
 * A request it cannot decode is refused with INVALID_ARGUMENT / UNDECODABLE_REQUEST, as on
 * every service (undecodable-request.ts), never grpc-js's INTERNAL.
 */
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../logger';
import type { Storage } from '../storage/journal';
import { SERVICE_NAME } from './reflection';
import { withTolerantHandlers } from './undecodable-request';

export interface Health {
  /** Shutdown has begun: NOT_SERVING from now on. */
  stopping(): void;
}

export function addHealth(server: Server, storage: Storage, log: Logger): Health {
  const health = new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' });
  let stopped = false;
  let current = 'SERVING';
  const set = (s: 'SERVING' | 'NOT_SERVING'): void => {
    if (s === current) return; // watchers hear of changes only
    current = s;
    health.setStatus('', s);
    health.setStatus(SERVICE_NAME, s);
  };
  const follow = (): void => {
    if (!stopped) set(storage.health().state === 'failed' ? 'NOT_SERVING' : 'SERVING');
  };
  storage.onHealthChange(follow);
  follow();
  health.addToServer({
    addService: (definition, implementation) =>
      server.addService(...withTolerantHandlers(definition as ServiceDefinition, implementation as UntypedServiceImplementation, log.child({ service: 'grpc.health.v1.Health' }))),
  });
  return {
    stopping() {
      stopped = true;
      set('NOT_SERVING');
    },
  };
}
