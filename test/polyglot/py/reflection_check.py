"""Reflection that grpcurl can live on, checked from Python with nothing but what the
server's reflection service returns: no .proto file of CoraMQ, no stub of it.

    reflection_check.py ADDRESS v1|v1alpha QUEUE

Over one reflection stream of the given version it lists the services, resolves each one
and every message type its methods use, asks the protocol's other questions, then makes
CreateQueue, Enqueue, Dequeue and Ack calls with messages built from the descriptors out
of JSON (the proto3 JSON mapping, as grpcurl's -d). It also calls every method of every
listed service with an empty request, to show that none is advertised but unserved.
Prints one JSON report; the test decides what it must say.
"""

import base64
import json
import sys

import grpc

from reflection_client import ReflectionClient, ReflectionError, message_class


def probe(client, method):
    """Calls a method with an empty request: any answer but UNIMPLEMENTED shows it is served.
    Returns the status name, or RESPONDED for a stream that answered and stays open."""
    path = f'/{method.containing_service.full_name}/{method.name}'
    codec = dict(request_serializer=lambda m: m.SerializeToString(), response_deserializer=message_class(method.output_type).FromString)
    channel = client.channel
    try:
        if method.client_streaming and method.server_streaming:
            list(channel.stream_stream(path, **codec)(iter(()), timeout=5))
        elif method.client_streaming:
            channel.stream_unary(path, **codec)(iter(()), timeout=5)
        elif method.server_streaming:
            stream = channel.unary_stream(path, **codec)(message_class(method.input_type)(), timeout=5)
            for _ in stream:
                stream.cancel()  # a watch stays open: its first answer is enough
                return 'RESPONDED'
        else:
            channel.unary_unary(path, **codec)(message_class(method.input_type)(), timeout=5)
        return 'OK'
    except grpc.RpcError as err:
        return err.code().name


def error_of(question):
    try:
        question()
        return 'answered'
    except ReflectionError as err:
        return err.code.name


def main(address, version, queue):
    channel = grpc.insecure_channel(address)
    client = ReflectionClient(channel, version)
    report = {'version': version, 'services': client.list_services()}

    report['serviceFiles'], report['methods'], report['types'], report['served'] = {}, {}, [], {}
    report['undocumented'] = []
    types = set()
    for name in report['services']:
        service = client.service(name)
        report['serviceFiles'][name] = service.file.name
        report['methods'][name] = {m.name: [m.input_type.full_name, m.output_type.full_name] for m in service.methods}
        for type_name, descriptor in client.message_types(name).items():
            message_class(descriptor)()  # a working message class for every type
            types.add(type_name)
        for m in service.methods:
            if not client.comment(m).strip():
                report['undocumented'].append(m.full_name)
            report['served'][m.full_name] = probe(client, m)
    report['types'] = sorted(types)
    report['imports'] = {name: list(proto.dependency) for name, proto in sorted(client.protos.items())}
    report['withComments'] = sorted(name for name, proto in client.protos.items() if any(l.leading_comments for l in proto.source_code_info.location))

    report['fileByFilename'] = client.file_by_filename('google/protobuf/timestamp.proto').name
    report['extensionNumbers'] = client.extension_numbers('coramq.v1.Message')
    report['unknownSymbol'] = error_of(lambda: client.ask(file_containing_symbol='coramq.v1.Nope'))
    report['unknownFile'] = error_of(lambda: client.ask(file_by_filename='nope.proto'))
    report['unknownExtension'] = error_of(lambda: client.ask(file_containing_extension={'containing_type': 'coramq.v1.Message', 'extension_number': 100}))
    report['streamStillAnswers'] = client.list_services() == report['services']

    report['calls'] = []

    def call(method_name, body):
        method = client.method(f'coramq.v1.QueueService/{method_name}')
        entry = {'method': method_name}
        try:
            entry['responses'] = [json.loads(client.to_json(r)) for r in client.call(method, client.request_from_json(method, json.dumps(body)))]
        except grpc.RpcError as err:
            entry['status'] = err.code().name
            entry['errorCode'] = dict(err.trailing_metadata() or ()).get('coramq-error-code')
        report['calls'].append(entry)
        return entry.get('responses', [])

    call('CreateQueue', {'name': queue, 'config': {'visibilityTimeout': '60s', 'maxDeliveries': 2}})
    payload = base64.b64encode(b'hello from python').decode()
    call('Enqueue', {'queue': queue, 'id': 'r1', 'payload': payload, 'priority': 7, 'attributes': {'lang': 'python'}, 'delay': '0s'})
    frames = call('Dequeue', {'queue': queue, 'maxMessages': 1, 'maxInFlight': 5})
    receipt = frames[0]['messages'][0]['receipt'] if frames and frames[0].get('messages') else ''
    call('Ack', {'queue': queue, 'id': 'r1', 'receipt': receipt})
    call('Ack', {'queue': queue, 'id': 'r1', 'receipt': receipt})

    client.close()
    channel.close()
    print(json.dumps(report, indent=1, sort_keys=True))


if __name__ == '__main__':
    main(*sys.argv[1:])
