/**
 * Reflection that grpcurl can live on, from Python with nothing but what the server's
 * reflection service returns (test/polyglot/py/reflection_check.py): its only stubs are for
 * grpc/reflection/{v1,v1alpha}/reflection.proto from Debian's grpc-proto; every CoraMQ type
 * comes from the server. Both reflection versions must answer the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type DescriptorProto } from '@bufbuild/protobuf/wkt';
import { descriptorSetPath } from '../../src/server/reflection';
import { REPO, runPython, withPythonStubs } from '../support/python';

const CHECK = join(REPO, 'test', 'polyglot', 'py', 'reflection_check.py');
const SERVICES = ['coramq.v1.QueueService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/** Every message type the services' methods use, nested fields and map entries included, from the set the server serves. */
function typesUsedByServices(): string[] {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath()));
  const messages = new Map<string, DescriptorProto>();
  const add = (scope: string, m: DescriptorProto): void => {
    messages.set(scope + m.name, m);
    m.nestedType.forEach((n) => add(`${scope}${m.name}.`, n));
  };
  set.file.forEach((f) => f.messageType.forEach((m) => add(`${f.package}.`, m)));
  const used = new Set<string>();
  const visit = (typeName: string): void => {
    const name = typeName.replace(/^\./, '');
    if (used.has(name)) return;
    used.add(name);
    for (const field of messages.get(name)?.field ?? []) if (field.typeName !== '' && messages.has(field.typeName.slice(1))) visit(field.typeName);
  };
  for (const f of set.file) for (const s of f.service) for (const m of s.method) [m.inputType, m.outputType].forEach(visit);
  return [...used].sort();
}

describe('reflection, from Python with no CoraMQ .proto file', () => {
  const python = withPythonStubs('reflection');

  test.each(['v1', 'v1alpha'])('grpc.reflection.%s resolves every service and type, and drives CreateQueue, Enqueue, Dequeue and Ack', async (version) => {
    const run = await runPython([CHECK, python.t.server.address, version, `refl-${version}`], { pythonPath: [python.stubs, join(REPO, 'test', 'polyglot', 'py')] });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(run.stdout);

    // What grpcurl list / describe need: the services, their real files with imports, comments.
    expect(report.services).toEqual(SERVICES);
    expect(report.serviceFiles).toEqual({
      'coramq.v1.QueueService': 'coramq/v1/queue.proto',
      'grpc.health.v1.Health': 'health/v1/health.proto',
      'grpc.reflection.v1.ServerReflection': 'grpc/reflection/v1/reflection.proto',
      'grpc.reflection.v1alpha.ServerReflection': 'grpc/reflection/v1alpha/reflection.proto',
    });
    expect(report.imports['coramq/v1/queue.proto']).toEqual(['google/protobuf/duration.proto', 'google/protobuf/timestamp.proto']);
    expect(report.types).toEqual(typesUsedByServices());
    expect(report.types).toEqual(expect.arrayContaining(['coramq.v1.EnqueueRequest', 'coramq.v1.Message.AttributesEntry', 'google.protobuf.Duration']));
    expect(report.methods['coramq.v1.QueueService'].Dequeue).toEqual(['coramq.v1.DequeueRequest', 'coramq.v1.DequeueResponse']);
    expect(report.undocumented).toEqual([]);
    expect(report.withComments).toEqual(expect.arrayContaining(['coramq/v1/queue.proto']));

    // The protocol's other questions, and errors that leave the stream usable.
    expect(report).toMatchObject({
      fileByFilename: 'google/protobuf/timestamp.proto',
      extensionNumbers: [],
      unknownSymbol: 'NOT_FOUND',
      unknownFile: 'NOT_FOUND',
      unknownExtension: 'NOT_FOUND',
      streamStillAnswers: true,
    });

    // Every advertised method is served (an empty request is refused, never UNIMPLEMENTED).
    expect(Object.values(report.served)).not.toContain('UNIMPLEMENTED');
    expect(report.served).toMatchObject({
      'coramq.v1.QueueService.CreateQueue': 'INVALID_ARGUMENT',
      'coramq.v1.QueueService.ListQueues': 'OK',
      'grpc.health.v1.Health.Check': 'OK',
      'grpc.health.v1.Health.Watch': 'RESPONDED',
      'grpc.reflection.v1.ServerReflection.ServerReflectionInfo': 'OK',
      'grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo': 'OK',
    });
    expect(Object.keys(report.served)).toHaveLength(19);

    // Calls with messages built from the descriptors, JSON in and out (manual clock: fixed times).
    const queue = `refl-${version}`;
    const payload = Buffer.from('hello from python').toString('base64');
    expect(report.calls).toEqual([
      {
        method: 'CreateQueue',
        responses: [{ queue: { name: queue, config: { visibilityTimeout: '60s', maxDeliveries: 2, maxDepth: '10000000' }, stats: { oldestReadyAge: '0s' }, createdAt: '2023-11-14T22:13:20Z' } }],
      },
      { method: 'Enqueue', responses: [{ id: 'r1' }] },
      {
        method: 'Dequeue',
        responses: [
          {
            messages: [
              {
                id: 'r1',
                queue,
                payload,
                priority: 7,
                attributes: { lang: 'python' },
                enqueuedAt: '2023-11-14T22:13:20Z',
                deliveryCount: 1,
                visibleAt: '2023-11-14T22:14:20Z',
                receipt: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
              },
            ],
          },
        ],
      },
      { method: 'Ack', responses: [{}] },
      { method: 'Ack', status: 'NOT_FOUND', errorCode: 'MESSAGE_NOT_IN_FLIGHT' },
    ]);
  });
});
