/**
 * Server reflection (grpc.reflection.v1 and v1alpha, for grpcurl and dynamic clients) and
 * grpc.health.v1 health checking. Reflection is built from the .proto files in proto/, the
 * same source the stubs are generated from.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';

export const SERVICE_NAME = 'coramq.v1.QueueService';
const CONTRACT = join('coramq', 'v1', 'queue.proto');

/** The proto/ directory: found by walking up from this file (src/ or dist/src/). */
export function protoDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', CONTRACT))) return join(dir, 'proto');
    if (dirname(dir) === dir) throw new Error(`cannot find proto/${CONTRACT} above ${__dirname}`);
  }
}

const REFLECTION_PROTOS = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

export function addReflection(server: Server): void {
  const definition = loadSync(
    [CONTRACT, healthProtoPath, 'grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'],
    { includeDirs: [protoDir(), dirname(healthProtoPath), REFLECTION_PROTOS], keepCase: true },
  );
  new ReflectionService(definition).addToServer(server);
}

export function addHealth(server: Server): HealthImplementation {
  const health = new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  return health;
}
