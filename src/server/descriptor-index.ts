/**
 * The descriptors behind server reflection: every file of a FileDescriptorSet, by file name
 * and by each symbol it declares, with the files it imports.
 *
 * Files are served as buf built them (generated/descriptor-set.binpb): real file names, real
 * imports, fully qualified type names and source info (comments), so grpcurl, grpcui,
 * Postman and dynamic clients resolve every type and show the contract's comments.
 *
 * Invariants, checked when the index is built: file names are unique, every import is in
 * the set, and the set resolves (every type a field or method names exists).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createFileRegistry, fromBinary, toBinary, type FileRegistry } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorSet,
} from '@bufbuild/protobuf/wkt';

export interface DescriptorFile {
  readonly name: string;
  /** The encoded FileDescriptorProto, as served. */
  readonly bytes: Uint8Array;
  readonly dependencies: readonly string[];
}

export class DescriptorIndex {
  private readonly files = new Map<string, DescriptorFile>();
  private readonly symbols = new Map<string, DescriptorFile>();
  /** Message type -> extension number -> the file declaring that extension. */
  private readonly extensions = new Map<string, Map<number, DescriptorFile>>();
  private readonly messageTypes = new Set<string>();
  /** Every service declared in the set, sorted. */
  readonly services: readonly string[];
  /** The set as protobuf-es descriptors (to encode and decode its messages). */
  readonly registry: FileRegistry;

  constructor(set: FileDescriptorSet) {
    this.registry = createFileRegistry(set); // throws when an import is missing or a type unknown
    const services: string[] = [];
    for (const proto of set.file) {
      if (this.files.has(proto.name)) throw new Error(`descriptor set: file '${proto.name}' appears twice`);
      const file: DescriptorFile = { name: proto.name, bytes: toBinary(FileDescriptorProtoSchema, proto), dependencies: proto.dependency };
      this.files.set(proto.name, file);
      const scope = proto.package === '' ? '' : `${proto.package}.`;
      for (const m of proto.messageType) this.indexMessage(file, scope, m);
      for (const e of proto.enumType) this.indexEnum(file, scope, e);
      for (const x of proto.extension) this.indexExtension(file, scope, x);
      for (const s of proto.service) {
        const name = scope + s.name;
        services.push(name);
        this.symbols.set(name, file);
        for (const m of s.method) this.symbols.set(`${name}.${m.name}`, file);
      }
    }
    this.services = services.sort();
  }

  static fromBinary(bytes: Uint8Array): DescriptorIndex {
    return new DescriptorIndex(fromBinary(FileDescriptorSetSchema, bytes));
  }

  file(name: string): DescriptorFile | undefined {
    return this.files.get(name);
  }

  /** The file declaring a fully qualified symbol: a type, field, oneof, enum value, service or method. */
  fileContainingSymbol(symbol: string): DescriptorFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ''));
  }

  fileContainingExtension(messageType: string, number: number): DescriptorFile | undefined {
    return this.extensions.get(messageType.replace(/^\./, ''))?.get(number);
  }

  /** The extension numbers declared for a message type; undefined when there is no such type. */
  extensionNumbers(messageType: string): number[] | undefined {
    const name = messageType.replace(/^\./, '');
    if (!this.messageTypes.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * `file` first, then its transitive imports breadth first, leaving out those in `sent`
   * (files a client already has on this stream) and adding the ones returned to it.
   */
  withDependencies(file: DescriptorFile, sent: Set<string>): DescriptorFile[] {
    const out = [file];
    sent.add(file.name);
    for (let i = 0; i < out.length; i++) {
      for (const dep of out[i].dependencies) {
        if (sent.has(dep)) continue;
        sent.add(dep);
        out.push(this.files.get(dep) as DescriptorFile);
      }
    }
    return out;
  }

  private indexMessage(file: DescriptorFile, scope: string, m: DescriptorProto): void {
    const name = scope + m.name;
    this.symbols.set(name, file);
    this.messageTypes.add(name);
    for (const f of m.field) this.symbols.set(`${name}.${f.name}`, file);
    for (const o of m.oneofDecl) this.symbols.set(`${name}.${o.name}`, file);
    for (const nested of m.nestedType) this.indexMessage(file, `${name}.`, nested);
    for (const e of m.enumType) this.indexEnum(file, `${name}.`, e);
    for (const x of m.extension) this.indexExtension(file, `${name}.`, x);
  }

  private indexEnum(file: DescriptorFile, scope: string, e: EnumDescriptorProto): void {
    const name = scope + e.name;
    this.symbols.set(name, file);
    for (const v of e.value) {
      this.symbols.set(`${name}.${v.name}`, file); // as protoreflect names enum values
      this.symbols.set(scope + v.name, file); // as protobuf scopes them (siblings of the enum)
    }
  }

  private indexExtension(file: DescriptorFile, scope: string, x: FieldDescriptorProto): void {
    this.symbols.set(scope + x.name, file);
    const extendee = x.extendee.replace(/^\./, '');
    let byNumber = this.extensions.get(extendee);
    if (byNumber === undefined) this.extensions.set(extendee, (byNumber = new Map()));
    byNumber.set(x.number, file);
  }
}

export const DESCRIPTOR_SET = join('generated', 'descriptor-set.binpb');

/** generated/descriptor-set.binpb, found by walking up from this file (src/ or dist/src/). */
export function descriptorSetPath(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, DESCRIPTOR_SET))) return join(dir, DESCRIPTOR_SET);
    if (dirname(dir) === dir) throw new Error(`cannot find ${DESCRIPTOR_SET} above ${__dirname}: run 'make generate'`);
  }
}

let loaded: DescriptorIndex | null = null;

/** The descriptor index of generated/descriptor-set.binpb, read once per process. */
export function descriptorIndex(): DescriptorIndex {
  loaded ??= DescriptorIndex.fromBinary(readFileSync(descriptorSetPath()));
  return loaded;
}
