/**
 * The contract documents itself: every service, RPC, message, field, enum and value in
 * proto/ has a doc comment (a leading comment, which reaches every language's stubs and
 * grpcurl describe), every RPC's says which errors it returns, and every status or error
 * code named in a comment exists. Read from what `buf build` makes of proto/ today.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type DescriptorProto, type EnumDescriptorProto, type FileDescriptorProto, type FileDescriptorSet } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import { ERROR_CATALOGUE } from '../../src/errors';

const REPO = join(__dirname, '..', '..');
const BUF = join(REPO, 'node_modules', '.bin', 'buf');

/** The FileDescriptorSet (with source info) buf builds from the module in `dir`. */
function build(dir: string): FileDescriptorSet {
  return fromBinary(FileDescriptorSetSchema, execFileSync(BUF, ['build', '--as-file-descriptor-set', '-o', '-#format=binpb'], { cwd: dir }));
}

interface Element {
  name: string;
  kind: 'service' | 'rpc' | 'message' | 'field' | 'oneof' | 'enum' | 'enum value';
  comment: string;
}

// Field numbers in descriptor.proto, for source-info paths.
const FILE = { message: 4, enum: 5, service: 6 };
const MESSAGE = { field: 2, nested: 3, enum: 4, oneof: 8 };
const SERVICE = { method: 2 };
const ENUM = { value: 2 };

/** Every documentable element of a file, with its leading comment ('' when it has none). */
function elements(file: FileDescriptorProto): Element[] {
  const comments = new Map(file.sourceCodeInfo?.location.map((l) => [l.path.join('.'), l.leadingComments.trim()]) ?? []);
  const out: Element[] = [];
  const add = (name: string, kind: Element['kind'], path: number[]): void => {
    out.push({ name, kind, comment: comments.get(path.join('.')) ?? '' });
  };
  const enumType = (e: EnumDescriptorProto, scope: string, path: number[]): void => {
    add(scope + e.name, 'enum', path);
    e.value.forEach((v, i) => add(`${scope}${e.name}.${v.name}`, 'enum value', [...path, ENUM.value, i]));
  };
  const message = (m: DescriptorProto, scope: string, path: number[]): void => {
    if (m.options?.mapEntry) return; // synthesized for a map field, documented by the field
    const name = scope + m.name;
    add(name, 'message', path);
    m.field.forEach((f, i) => add(`${name}.${f.name}`, 'field', [...path, MESSAGE.field, i]));
    m.oneofDecl.forEach((o, i) => add(`${name}.${o.name}`, 'oneof', [...path, MESSAGE.oneof, i]));
    m.nestedType.forEach((n, i) => message(n, `${name}.`, [...path, MESSAGE.nested, i]));
    m.enumType.forEach((e, i) => enumType(e, `${name}.`, [...path, MESSAGE.enum, i]));
  };
  const scope = `${file.package}.`;
  file.messageType.forEach((m, i) => message(m, scope, [FILE.message, i]));
  file.enumType.forEach((e, i) => enumType(e, scope, [FILE.enum, i]));
  file.service.forEach((s, i) => {
    add(scope + s.name, 'service', [FILE.service, i]);
    s.method.forEach((m, j) => add(`${scope}${s.name}.${m.name}`, 'rpc', [FILE.service, i, SERVICE.method, j]));
  });
  return out;
}

/** What is wrong with a file's documentation, one line per problem. */
function problems(file: FileDescriptorProto): string[] {
  const known = new Set([...Object.keys(status).filter((k) => Number.isNaN(Number(k))), ...Object.keys(ERROR_CATALOGUE)]);
  const out: string[] = [];
  for (const e of elements(file)) {
    if (e.comment === '') out.push(`${e.kind} ${e.name} has no doc comment`);
    if (e.kind === 'rpc' && e.comment !== '' && !/\bErrors\b[^:]*:/.test(e.comment)) out.push(`rpc ${e.name} does not say its errors ("Errors: ...")`);
    for (const word of e.comment.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? []) {
      if (!known.has(word)) out.push(`${e.kind} ${e.name} names ${word}, which is neither a gRPC status nor a catalogue code`);
    }
  }
  return out;
}

describe('proto/ comments', () => {
  const contract = build(REPO).file.filter((f) => f.name.startsWith('coramq/'));

  test('every service, RPC, message, field, enum and value has a doc comment; every RPC says its errors', () => {
    expect(contract.map((f) => f.name)).toEqual(['coramq/v1/queue.proto']);
    expect(contract.flatMap(problems)).toEqual([]);
  });

  test('the check covers the whole contract', () => {
    const kinds = contract.flatMap(elements).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'rpc')).toHaveLength(14);
    expect(kinds.filter((k) => k === 'message')).toHaveLength(37);
    expect(kinds.filter((k) => k === 'field').length).toBeGreaterThan(80);
  });

  test('an element without a comment, an RPC without errors and an unknown code are reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coramq-comments-'));
    try {
      mkdirSync(join(dir, 'demo'));
      writeFileSync(join(dir, 'buf.yaml'), 'version: v2\n');
      writeFileSync(
        join(dir, 'demo', 'demo.proto'),
        [
          'syntax = "proto3";',
          'package demo;',
          '// Demo does things.',
          'service Demo {',
          '  // Run runs.',
          '  rpc Run(Req) returns (Req);',
          '}',
          '// Req asks. Errors: NOT_FOUNT.',
          'message Req {',
          '  string undocumented = 1;',
          '  // Documented.',
          '  map<string, string> labels = 2;',
          '  enum Kind {',
          '    // Nothing.',
          '    KIND_UNSPECIFIED = 0;',
          '  }',
          '}',
        ].join('\n'),
      );
      expect(problems(build(dir).file[0])).toEqual([
        'message demo.Req names NOT_FOUNT, which is neither a gRPC status nor a catalogue code',
        'field demo.Req.undocumented has no doc comment',
        'enum demo.Req.Kind has no doc comment',
        'rpc demo.Demo.Run does not say its errors ("Errors: ...")',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
