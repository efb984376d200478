"""A stand-in for grpcurl, built on reflection_client: the same command line (the flags the
README's session uses) and the same output, so the tests can replay that session as written.

    grpcurl.py [-plaintext] [-d JSON] [-H 'name: value']... [-max-time S] ADDRESS list [SERVICE]
    grpcurl.py [...] ADDRESS describe METHOD
    grpcurl.py [...] ADDRESS SERVICE/METHOD

Like grpcurl it asks grpc.reflection.v1 first and falls back to v1alpha when the server does
not implement v1 (-reflection v1alpha asks v1alpha only). Responses print as indented proto3
JSON without default values; a failed call prints `ERROR:` with the code and message on
stderr and exits 1. Only what the session needs: plaintext only, one request per call, and
describe only for methods (printed as grpcurl prints them: doc comment, then the rpc line).
"""

import sys

import grpc

from reflection_client import GO_CODE_NAMES, ReflectionClient


def usage(message):
    sys.stderr.write(f'{message}\nusage: grpcurl.py [-plaintext] [-d JSON] [-H "name: value"] ADDRESS (list [SERVICE] | describe METHOD | SERVICE/METHOD)\n')
    sys.exit(2)


def parse(argv):
    options = {'data': None, 'headers': [], 'max_time': None, 'reflection': None, 'plaintext': False}
    args = list(argv)
    while args and args[0].startswith('-'):
        flag = args.pop(0).lstrip('-')
        if flag == 'plaintext':
            options['plaintext'] = True
        elif flag in ('d', 'H', 'max-time', 'reflection'):
            if not args:
                usage(f'flag -{flag} needs a value')
            value = args.pop(0)
            if flag == 'd':
                options['data'] = value
            elif flag == 'H':
                options['headers'].append(value)
            elif flag == 'max-time':
                options['max_time'] = float(value)
            else:
                options['reflection'] = value
        else:
            usage(f'flag -{flag} is not supported by this stand-in')
    if not options['plaintext']:
        usage('this stand-in speaks plaintext only: pass -plaintext')
    if not args:
        usage('no address')
    return options, args[0], args[1:]


def metadata(headers):
    out = []
    for header in headers:
        name, _, value = header.partition(':')
        out.append((name.strip().lower(), value.strip()))
    return tuple(out)


def connect(channel, options):
    """A reflection client on v1, or v1alpha when v1 is UNIMPLEMENTED (grpcurl's order)."""
    versions = [options['reflection']] if options['reflection'] else ['v1', 'v1alpha']
    for i, version in enumerate(versions):
        client = ReflectionClient(channel, version, metadata(options['headers']))
        try:
            services = client.list_services()
            return client, services
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNIMPLEMENTED or i == len(versions) - 1:
                raise
    raise AssertionError('unreachable')


def describe_method(client, method):
    lines = [f'{method.full_name} is a method:']
    comment = client.comment(method)
    lines += [f'//{line}' for line in comment.rstrip('\n').split('\n')] if comment else []
    stream_in = 'stream ' if method.client_streaming else ''
    stream_out = 'stream ' if method.server_streaming else ''
    lines.append(f'rpc {method.name} ( {stream_in}.{method.input_type.full_name} ) returns ( {stream_out}.{method.output_type.full_name} );')
    return '\n'.join(lines)


def main(argv):
    options, address, rest = parse(argv)
    if not rest:
        usage('nothing to do: list, describe or a method')
    channel = grpc.insecure_channel(address)
    client, services = connect(channel, options)
    try:
        verb = rest[0]
        if verb == 'list' and len(rest) == 1:
            print('\n'.join(services))
        elif verb == 'list':
            service = client.service(rest[1])
            print('\n'.join(sorted(m.full_name for m in service.methods)))
        elif verb == 'describe' and len(rest) == 2:
            print(describe_method(client, client.method(rest[1])))
        elif len(rest) == 1:
            method = client.method(verb)
            request = client.request_from_json(method, options['data'])
            try:
                for response in client.call(method, request, metadata(options['headers']), options['max_time']):
                    print(client.to_json(response), flush=True)  # each as it arrives, as grpcurl does
            except grpc.RpcError as err:
                sys.stderr.write(f'ERROR:\n  Code: {GO_CODE_NAMES[err.code()]}\n  Message: {err.details()}\n')
                return 1
        else:
            usage(f'cannot do {" ".join(rest)!r}')
    finally:
        client.close()
        channel.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
