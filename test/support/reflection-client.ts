/**
 * A reflection-only client, as grpcurl works: it knows no .proto file of CoraMQ. It asks a
 * server's reflection service (grpc.reflection.v1 or v1alpha) for services and file
 * descriptors, builds the message types from those descriptors (protobufjs), and makes
 * calls with messages built from plain objects keyed by the proto field names.
 */
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor';

export type ReflectionVersion = 'v1' | 'v1alpha';

const reflectionProtoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

export class ReflectionClient {
  private readonly stub: Client & { ServerReflectionInfo: (md?: Metadata) => import('@grpc/grpc-js').ClientDuplexStream<unknown, ReflectionResponse> };
  private readonly files = new Map<string, Uint8Array>();
  private root: protobuf.Root | null = null;

  constructor(
    private readonly address: string,
    readonly version: ReflectionVersion = 'v1',
  ) {
    const def = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionProtoDir], keepCase: true });
    const pkg = loadPackageDefinition(def) as unknown as Record<string, any>;
    const Service = pkg.grpc.reflection[version].ServerReflection;
    this.stub = new Service(address, credentials.createInsecure());
  }

  close(): void {
    this.stub.close();
  }

  private ask(request: Record<string, unknown>): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const call = this.stub.ServerReflectionInfo();
      call.on('data', (r: ReflectionResponse) => {
        resolve(r);
        call.end();
      });
      call.on('error', reject);
      call.write({ host: '', ...request });
    });
  }

  async listServices(): Promise<string[]> {
    const r = await this.ask({ list_services: '' });
    return (r.list_services_response?.service ?? []).map((s) => s.name).sort();
  }

  /** Fetches the file defining `symbol` and its dependencies; returns the symbol's type root. */
  async resolve(symbol: string): Promise<protobuf.Root> {
    const r = await this.ask({ file_containing_symbol: symbol });
    if (r.error_response) throw new Error(`reflection: ${r.error_response.error_message}`);
    for (const bytes of r.file_descriptor_response?.file_descriptor_proto ?? []) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as { name: string };
      this.files.set(file.name, bytes);
    }
    const set = descriptor.FileDescriptorSet.fromObject({
      file: [...this.files.values()].map((b) => descriptor.FileDescriptorProto.decode(b)),
    });
    const root = (protobuf.Root as unknown as { fromDescriptor(s: unknown): protobuf.Root }).fromDescriptor(set);
    root.resolveAll();
    this.root = root;
    return root;
  }

  /** Every message type a service's methods use, nested fields included. */
  async messageTypes(service: string): Promise<string[]> {
    const root = await this.resolve(service);
    const svc = root.lookupService(service);
    const seen = new Set<string>();
    const visit = (t: protobuf.Type): void => {
      const name = t.fullName.replace(/^\./, '');
      if (seen.has(name)) return;
      seen.add(name);
      for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) visit(f.resolvedType);
    };
    for (const m of svc.methodsArray) {
      visit(m.resolvedRequestType as protobuf.Type);
      visit(m.resolvedResponseType as protobuf.Type);
    }
    return [...seen].sort();
  }

  private method(fullMethod: string): { path: string; req: protobuf.Type; res: protobuf.Type; stream: boolean } {
    if (this.root === null) throw new Error('call resolve() first');
    const [service, name] = [fullMethod.slice(0, fullMethod.lastIndexOf('.')), fullMethod.slice(fullMethod.lastIndexOf('.') + 1)];
    const m = this.root.lookupService(service).methods[name];
    m.resolve();
    return { path: `/${service}/${name}`, req: m.resolvedRequestType as protobuf.Type, res: m.resolvedResponseType as protobuf.Type, stream: !!m.responseStream };
  }

  private codec(t: protobuf.Type) {
    return {
      encode: (json: object): Buffer => Buffer.from(t.encode(t.fromObject(json)).finish()),
      decode: (b: Buffer): Record<string, unknown> => t.toObject(t.decode(b), { longs: String, enums: String, bytes: String, defaults: false, json: true }),
    };
  }

  /** A unary call with a plain-object request; resolves with the plain-object response. */
  async unary(fullMethod: string, json: object, metadata = new Metadata()): Promise<Record<string, unknown>> {
    const { path, req, res } = this.method(fullMethod);
    const client = new (require('@grpc/grpc-js').Client)(this.address, credentials.createInsecure()) as Client;
    try {
      return await new Promise((resolve, reject) =>
        client.makeUnaryRequest(path, this.codec(req).encode, this.codec(res).decode, json, metadata, (err: ServiceError | null, value?: Record<string, unknown>) =>
          err ? reject(err) : resolve(value as Record<string, unknown>),
        ),
      );
    } finally {
      client.close();
    }
  }

  /** A server-streaming call; resolves with every response once the stream ends. */
  async serverStream(fullMethod: string, json: object): Promise<Record<string, unknown>[]> {
    const { path, req, res } = this.method(fullMethod);
    const client = new (require('@grpc/grpc-js').Client)(this.address, credentials.createInsecure()) as Client;
    try {
      return await new Promise((resolve, reject) => {
        const out: Record<string, unknown>[] = [];
        const call = client.makeServerStreamRequest(path, this.codec(req).encode, this.codec(res).decode, json);
        call.on('data', (d: Record<string, unknown>) => out.push(d));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      });
    } finally {
      client.close();
    }
  }
}
