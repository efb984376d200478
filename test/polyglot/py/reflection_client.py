"""A gRPC client that knows no .proto file of the server: it learns every type from the
server's reflection service, as grpcurl does.

It keeps one ServerReflectionInfo stream open (grpc.reflection.v1 or v1alpha) and asks it
for the file declaring a symbol; a server may leave out imports it already sent on the
stream, so every file received is kept, and imports still missing are asked for by name.
Files go into a fresh DescriptorPool (dependencies first), message classes are built from
its descriptors, and JSON maps to and from messages with json_format: the proto3 JSON
mapping grpcurl uses (camelCase names, int64 as strings, bytes as base64, "30s" durations).

Needs the stubs of grpc/reflection/{v1,v1alpha}/reflection.proto on sys.path as the
top-level package `reflection` (protoc -I <grpc-proto>/grpc reflection/v1/reflection.proto).
"""

import importlib
import queue

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import ServiceDescriptor

# FileDescriptorProto field numbers, for source-info paths (descriptor.proto).
_SERVICE_IN_FILE, _METHOD_IN_SERVICE = 6, 2

# grpc.StatusCode as Go's codes.Code names them (what grpcurl prints).
GO_CODE_NAMES = {code: code.name.title().replace('_', '') for code in grpc.StatusCode}
GO_CODE_NAMES[grpc.StatusCode.OK] = 'OK'
GO_CODE_NAMES[grpc.StatusCode.CANCELLED] = 'Canceled'


class ReflectionError(Exception):
    """The server's reflection service answered with an error_response."""

    def __init__(self, code, message):
        super().__init__(f'{GO_CODE_NAMES.get(code, code)}: {message}')
        self.code = code
        self.message = message


def message_class(descriptor):
    if hasattr(message_factory, 'GetMessageClass'):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


class ReflectionClient:
    def __init__(self, channel, version='v1', metadata=()):
        self.version = version
        self.channel = channel
        self._pb = importlib.import_module(f'reflection.{version}.reflection_pb2')
        stub = importlib.import_module(f'reflection.{version}.reflection_pb2_grpc').ServerReflectionStub(channel)
        self._outbox = queue.Queue()
        self._answers = stub.ServerReflectionInfo(iter(self._outbox.get, None), metadata=metadata)
        self.protos = {}  # file name -> FileDescriptorProto, as received
        self.pool = descriptor_pool.DescriptorPool()

    def close(self):
        self._outbox.put(None)  # ends the request stream; the server then ends the stream
        for _ in self._answers:
            pass

    # --- the reflection protocol -------------------------------------------------------

    def ask(self, **request):
        """Sends one ServerReflectionRequest on the open stream and returns its answer."""
        self._outbox.put(self._pb.ServerReflectionRequest(**request))
        answer = next(self._answers)
        if answer.WhichOneof('message_response') == 'error_response':
            err = answer.error_response
            raise ReflectionError(grpc.StatusCode[_code_name(err.error_code)], err.error_message)
        return answer

    def list_services(self):
        answer = self.ask(list_services='*')
        return sorted(s.name for s in answer.list_services_response.service)

    def _receive_files(self, answer):
        """Keeps every file of a file_descriptor_response; returns the first one's name."""
        names = []
        for raw in answer.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self.protos.setdefault(proto.name, proto)
            names.append(proto.name)
        if not names:
            raise ReflectionError(grpc.StatusCode.INTERNAL, 'file_descriptor_response carries no file')
        return names[0]

    def _load(self, name):
        """Puts a file into the pool, its imports first, asking for those not yet received."""
        try:
            return self.pool.FindFileByName(name)
        except KeyError:
            pass
        if name not in self.protos:
            self._receive_files(self.ask(file_by_filename=name))
        proto = self.protos[name]
        for dependency in proto.dependency:
            self._load(dependency)
        self.pool.AddSerializedFile(proto.SerializeToString())
        return self.pool.FindFileByName(name)

    def file_containing_symbol(self, symbol):
        try:
            return self.pool.FindFileContainingSymbol(symbol)
        except KeyError:
            return self._load(self._receive_files(self.ask(file_containing_symbol=symbol)))

    def file_by_filename(self, name):
        if name not in self.protos:
            self._receive_files(self.ask(file_by_filename=name))
        return self._load(name)

    def extension_numbers(self, message_type):
        answer = self.ask(all_extension_numbers_of_type=message_type)
        return list(answer.all_extension_numbers_response.extension_number)

    # --- descriptors ---------------------------------------------------------------------

    def service(self, name):
        self.file_containing_symbol(name)
        return self.pool.FindServiceByName(name)

    def method(self, name):
        """A method by 'pkg.Service/Method' or 'pkg.Service.Method'."""
        service, _, method = name.replace('/', '.').rpartition('.')
        return self.service(service).methods_by_name[method]

    def message_types(self, service_name):
        """Every message type a service's methods use, nested fields included, by full name."""
        seen = {}

        def visit(descriptor):
            if descriptor.full_name in seen:
                return
            seen[descriptor.full_name] = descriptor
            for field in descriptor.fields:
                if field.message_type is not None:
                    visit(field.message_type)

        for m in self.service(service_name).methods:
            visit(m.input_type)
            visit(m.output_type)
        return seen

    def comment(self, descriptor):
        """The leading (doc) comment of a service or method, from the file's source info."""
        if isinstance(descriptor, ServiceDescriptor):
            service, path = descriptor, [_SERVICE_IN_FILE, descriptor.index]
        else:
            service = descriptor.containing_service
            path = [_SERVICE_IN_FILE, service.index, _METHOD_IN_SERVICE, descriptor.index]
        file = self.protos[service.file.name]
        for location in file.source_code_info.location:
            if list(location.path) == path:
                return location.leading_comments
        return ''

    # --- calls -----------------------------------------------------------------------------

    def request_from_json(self, method, text):
        request = message_class(method.input_type)()
        json_format.Parse(text or '{}', request, descriptor_pool=self.pool)
        return request

    def to_json(self, message):
        return json_format.MessageToJson(message, indent=2, descriptor_pool=self.pool, ensure_ascii=False)

    def call(self, method, request, metadata=(), timeout=None):
        """Calls a unary or server-streaming method and yields each response as it arrives.
        A status other than OK raises grpc.RpcError (code(), details(), trailing_metadata())."""
        if method.client_streaming:
            raise ValueError(f'{method.full_name} streams requests; this client sends one request')
        path = f'/{method.containing_service.full_name}/{method.name}'
        kind = self.channel.unary_stream if method.server_streaming else self.channel.unary_unary
        callable_ = kind(path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=message_class(method.output_type).FromString)
        if method.server_streaming:
            yield from callable_(request, metadata=metadata, timeout=timeout)
        else:
            yield callable_(request, metadata=metadata, timeout=timeout)


def _code_name(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.name
    return 'UNKNOWN'
