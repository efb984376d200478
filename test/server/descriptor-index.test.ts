/** The descriptor index behind reflection: lookups, imports per stream, and what it refuses. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clone, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorSet } from '@bufbuild/protobuf/wkt';
import { DescriptorIndex } from '../../src/server/descriptor-index';
import { descriptorSetPath } from '../../src/server/reflection';

const BUF = join(__dirname, '..', '..', 'node_modules', '.bin', 'buf');
const served = (): FileDescriptorSet => fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath()));
const index = DescriptorIndex.fromBinary(readFileSync(descriptorSetPath()));
const fileOf = (symbol: string): string | undefined => index.fileContainingSymbol(symbol)?.name;

test('it lists the services of the set, sorted', () => {
  expect(index.services).toEqual(['coramq.v1.QueueService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
});

test('every kind of symbol leads to its file, with or without a leading dot', () => {
  expect(fileOf('coramq.v1.QueueService')).toBe('coramq/v1/queue.proto');
  expect(fileOf('coramq.v1.QueueService.Dequeue')).toBe('coramq/v1/queue.proto');
  expect(fileOf('.coramq.v1.Message')).toBe('coramq/v1/queue.proto');
  expect(fileOf('coramq.v1.Message.receipt')).toBe('coramq/v1/queue.proto');
  expect(fileOf('coramq.v1.Message.AttributesEntry')).toBe('coramq/v1/queue.proto');
  expect(fileOf('google.protobuf.Duration')).toBe('google/protobuf/duration.proto');
  expect(fileOf('grpc.health.v1.HealthCheckResponse.ServingStatus')).toBe('health/v1/health.proto');
  expect(fileOf('grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING')).toBe('health/v1/health.proto');
  expect(fileOf('grpc.health.v1.HealthCheckResponse.SERVING')).toBe('health/v1/health.proto');
  expect(fileOf('grpc.reflection.v1.ServerReflectionRequest.message_request')).toBe('grpc/reflection/v1/reflection.proto');
  expect(fileOf('coramq.v1.Nope')).toBeUndefined();
  expect(fileOf('coramq.v1')).toBeUndefined();
});

test('a file comes with the imports not yet sent on the stream, and always itself', () => {
  const sent = new Set<string>();
  const contract = index.file('coramq/v1/queue.proto');
  expect(contract).toBeDefined();
  const names = (files: { name: string }[]): string[] => files.map((f) => f.name);
  expect(names(index.withDependencies(contract!, sent))).toEqual(['coramq/v1/queue.proto', 'google/protobuf/duration.proto', 'google/protobuf/timestamp.proto']);
  expect(names(index.withDependencies(contract!, sent))).toEqual(['coramq/v1/queue.proto']);
  expect(names(index.withDependencies(index.file('google/protobuf/duration.proto')!, sent))).toEqual(['google/protobuf/duration.proto']);
  expect(names(index.withDependencies(contract!, new Set()))).toHaveLength(3);
});

test('files are served as built: source info (comments) included', () => {
  const proto = fromBinary(FileDescriptorProtoSchema, index.file('coramq/v1/queue.proto')!.bytes);
  expect(proto.dependency).toEqual(['google/protobuf/duration.proto', 'google/protobuf/timestamp.proto']);
  const enqueue = proto.sourceCodeInfo?.location.find((l) => l.path.join('.') === '6.0.2.5');
  expect(enqueue?.leadingComments).toMatch(/^ Enqueue adds one message\./);
});

test('extension numbers: none for a message without extensions, undefined for what is not a message', () => {
  expect(index.extensionNumbers('coramq.v1.Message')).toEqual([]);
  expect(index.extensionNumbers('.coramq.v1.Message')).toEqual([]);
  expect(index.extensionNumbers('coramq.v1.QueueService')).toBeUndefined();
  expect(index.fileContainingExtension('coramq.v1.Message', 100)).toBeUndefined();
});

test('extensions are found by their extendee and number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coramq-ext-'));
  try {
    writeFileSync(join(dir, 'buf.yaml'), 'version: v2\n');
    writeFileSync(
      join(dir, 'ext.proto'),
      'syntax = "proto2";\npackage ext;\nmessage Base { extensions 100 to 200; }\nextend Base { optional string tag = 150; }\nmessage Holder { extend Base { optional int32 level = 120; } }\n',
    );
    const ext = DescriptorIndex.fromBinary(execFileSync(BUF, ['build', '--as-file-descriptor-set', '-o', '-#format=binpb'], { cwd: dir }));
    expect(ext.extensionNumbers('ext.Base')).toEqual([120, 150]);
    expect(ext.fileContainingExtension('ext.Base', 150)?.name).toBe('ext.proto');
    expect(ext.fileContainingExtension('.ext.Base', 120)?.name).toBe('ext.proto');
    expect(ext.fileContainingSymbol('ext.Holder.level')?.name).toBe('ext.proto');
    expect(ext.fileContainingExtension('ext.Base', 121)).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a set with a missing import or a file twice is refused', () => {
  const missing = served();
  missing.file = missing.file.filter((f) => f.name !== 'google/protobuf/timestamp.proto');
  expect(() => new DescriptorIndex(missing)).toThrow(/timestamp/);
  const twice = served();
  twice.file.push(clone(FileDescriptorProtoSchema, twice.file.find((f) => f.name === 'health/v1/health.proto')!));
  expect(() => new DescriptorIndex(twice)).toThrow(/health\/v1\/health.proto/);
});
