"""What the producer and the worker share: the connection, and how a failed call reads.

CORAMQ_TARGET (default localhost:50051) is the server; CORAMQ_AUTH_TOKEN, when the server
was started with --auth-token, is sent as `authorization: Bearer <token>` on every call.
"""

import os
import sys

import grpc

from coramq.v1 import queue_pb2_grpc


def connect():
    """A QueueService stub, and the metadata every call sends."""
    target = os.environ.get('CORAMQ_TARGET', 'localhost:50051')
    token = os.environ.get('CORAMQ_AUTH_TOKEN')
    metadata = (('authorization', f'Bearer {token}'),) if token else ()
    return queue_pb2_grpc.QueueServiceStub(grpc.insecure_channel(target)), metadata


def error_code(err):
    """The exact error (docs/ERRORS.md) a failed call names in its coramq-error-code trailer."""
    for key, value in err.trailing_metadata() or ():
        if key == 'coramq-error-code':
            return value
    return None


def fail(what, err):
    """Says why a call failed, then exits 1."""
    code = error_code(err)
    sys.exit(f'{what} failed: {err.code().name}{f" ({code})" if code else ""}: {err.details()}')
