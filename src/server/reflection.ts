/**
 * Server reflection (grpc.reflection.v1 and v1alpha, for grpcurl and dynamic clients).
 *
 * Reflection serves generated/descriptor-set.binpb, which `make generate` builds from proto/
 * (with its imports and comments) and the health and reflection protos: the services it
 * lists are exactly the ones this server registers. Each answer carries the file asked for
 * and those of its imports not yet sent on the stream (as grpc-go does). An unknown file,
 * symbol or extension is an error_response with NOT_FOUND, and the stream goes on; so is a
 * request that cannot be decoded, with INVALID_ARGUMENT (undecodable-request.ts).
 */
import { create, fromBinary, toBinary, type DescMessage, type Message } from '@bufbuild/protobuf';
import { status, type Server, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { UndecodableRequest, tolerant } from './undecodable-request';
import { DESCRIPTOR_SET, descriptorIndex, type DescriptorFile, type DescriptorIndex } from './descriptor-index';

export { descriptorIndex, descriptorSetPath } from './descriptor-index';

export const SERVICE_NAME = 'coramq.v1.QueueService';
const REFLECTION_VERSIONS = ['v1', 'v1alpha'] as const;

/** A ServerReflectionRequest as protobuf-es decodes it (v1 and v1alpha have the same shape). */
interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: 'fileByFilename' | 'fileContainingSymbol' | 'allExtensionNumbersOfType' | 'listServices'; value: string }
    | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

type ReflectionAnswer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

const notFound = (what: string): ReflectionAnswer => ({ case: 'errorResponse', value: { errorCode: status.NOT_FOUND, errorMessage: `${what} not found` } });

function answer(index: DescriptorIndex, request: ReflectionRequest, sent: Set<string>): ReflectionAnswer {
  const files = (file: DescriptorFile | undefined, what: string): ReflectionAnswer =>
    file === undefined
      ? notFound(what)
      : { case: 'fileDescriptorResponse', value: { fileDescriptorProto: index.withDependencies(file, sent).map((f) => f.bytes) } };
  const r = request.messageRequest;
  switch (r.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: index.services.map((name) => ({ name })) } };
    case 'fileByFilename':
      return files(index.file(r.value), `file '${r.value}'`);
    case 'fileContainingSymbol':
      return files(index.fileContainingSymbol(r.value), `symbol '${r.value}'`);
    case 'fileContainingExtension': {
      const { containingType, extensionNumber } = r.value;
      return files(index.fileContainingExtension(containingType, extensionNumber), `extension ${extensionNumber} of '${containingType}'`);
    }
    case 'allExtensionNumbersOfType': {
      const numbers = index.extensionNumbers(r.value);
      if (numbers === undefined) return notFound(`message type '${r.value}'`);
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: r.value.replace(/^\./, ''), extensionNumber: numbers } };
    }
    default:
      return { case: 'errorResponse', value: { errorCode: status.INVALID_ARGUMENT, errorMessage: 'the request asks nothing: set one of its message_request fields' } };
  }
}

/** grpc.reflection.<version>.ServerReflection, its messages encoded with the set's own descriptors. */
function reflectionService(index: DescriptorIndex, version: (typeof REFLECTION_VERSIONS)[number]) {
  const message = (name: string): DescMessage => {
    const desc = index.registry.getMessage(`grpc.reflection.${version}.${name}`);
    if (desc === undefined) throw new Error(`${DESCRIPTOR_SET} lacks grpc.reflection.${version}.${name}: run 'make generate'`);
    return desc;
  };
  const [req, res] = [message('ServerReflectionRequest'), message('ServerReflectionResponse')];
  const path = `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
  const definition: ServiceDefinition = {
    ServerReflectionInfo: {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: Message) => Buffer.from(toBinary(req, m)),
      requestDeserialize: tolerant(path, (b: Buffer) => fromBinary(req, b)),
      responseSerialize: (m: Message) => Buffer.from(toBinary(res, m)),
      responseDeserialize: (b: Buffer) => fromBinary(res, b),
    },
  };
  const ServerReflectionInfo = (call: ServerDuplexStream<ReflectionRequest, unknown>): void => {
    const sent = new Set<string>();
    call.on('data', (request: ReflectionRequest | UndecodableRequest) => {
      if (request instanceof UndecodableRequest) {
        const { message } = request.error;
        call.write(create(res, { messageResponse: { case: 'errorResponse', value: { errorCode: status.INVALID_ARGUMENT, errorMessage: message } } } as never));
        return;
      }
      const response = { validHost: request.host, originalRequest: request, messageResponse: answer(index, request, sent) };
      call.write(create(res, response as never));
    });
    call.on('end', () => call.end());
  };
  return { definition, implementation: { ServerReflectionInfo } };
}

export function addReflection(server: Server): void {
  for (const version of REFLECTION_VERSIONS) {
    const { definition, implementation } = reflectionService(descriptorIndex(), version);
    server.addService(definition, implementation);
  }
}
