"""The contract from Python: a scenario through the stubs grpc_tools generates from proto/.

    stub_scenario.py ADDRESS

Prints what it observes, one JSON object a line: {"step": ..., ...}. When it needs the
server's (manual) clock moved it prints {"advance_ms": N} and waits for a line on stdin.
Messages are printed in the proto3 JSON mapping; a failed call as its status name and the
coramq-error-code trailer. The test compares the whole transcript with what the contract
and docs/ERRORS.md say.
"""

import json
import sys

import grpc
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration

from coramq.v1 import queue_pb2 as pb
from coramq.v1 import queue_pb2_grpc

QUEUE = 'py-orders'


def show(message):
    return json_format.MessageToDict(message)


def emit(step, **observed):
    print(json.dumps({'step': step, **observed}, sort_keys=True), flush=True)


def failure(err):
    trailer = dict(err.trailing_metadata() or ()).get('coramq-error-code')
    return {'status': err.code().name, 'errorCode': trailer}


def attempt(step, call, *args, **kwargs):
    """Calls a unary method and emits its response or its failure."""
    try:
        emit(step, response=show(call(*args, **kwargs)))
    except grpc.RpcError as err:
        emit(step, error=failure(err))


def receive(stub, step, **request):
    """Opens a Dequeue stream, reads it to its end; emits the deliveries and how it ended."""
    deliveries = []
    try:
        for response in stub.Dequeue(pb.DequeueRequest(queue=request.pop('queue', QUEUE), **request)):
            deliveries.extend(response.messages)
        ending = {'status': 'OK'}
    except grpc.RpcError as err:
        ending = failure(err)
    emit(step, delivered=[[m.id, m.priority, m.delivery_count] for m in deliveries], end=ending)
    return deliveries


def advance(ms):
    print(json.dumps({'advance_ms': ms}), flush=True)
    if sys.stdin.readline().strip() != 'ok':
        sys.exit('the test did not move the clock')


def main(address):
    stub = queue_pb2_grpc.QueueServiceStub(grpc.insecure_channel(address))

    config = pb.QueueConfig(visibility_timeout=Duration(seconds=30), max_deliveries=3)
    attempt('create', stub.CreateQueue, pb.CreateQueueRequest(name=QUEUE, config=config))
    attempt('create again', stub.CreateQueue, pb.CreateQueueRequest(name=QUEUE))

    for job_id, priority in [('low', 1), ('high-a', 9), ('mid', 5), ('high-b', 9), ('below-zero', -3)]:
        attempt(f'enqueue {job_id}', stub.Enqueue, pb.EnqueueRequest(queue=QUEUE, id=job_id, payload=job_id.encode(), priority=priority))
    attempt('enqueue mid again', stub.Enqueue, pb.EnqueueRequest(queue=QUEUE, id='mid', payload=b'again', priority=5))
    made = stub.Enqueue(pb.EnqueueRequest(queue=QUEUE, payload=b'no id', priority=-3))
    emit('enqueue without id', idLength=len(made.id), duplicate=made.duplicate)

    first = receive(stub, 'dequeue five', max_messages=5, max_in_flight=10)
    by_id = {m.id: m for m in first}
    high_a = by_id['high-a']
    emit('first delivery', message={k: v for k, v in show(high_a).items() if k != 'receipt'}, receiptLength=len(high_a.receipt))

    attempt('ack high-a', stub.Ack, pb.AckRequest(queue=QUEUE, id='high-a', receipt=high_a.receipt))
    attempt('ack high-a twice', stub.Ack, pb.AckRequest(queue=QUEUE, id='high-a', receipt=high_a.receipt))

    advance(30_001)  # the other four leases end: back to ready, at their place in line
    attempt('stats after expiry', stub.GetQueue, pb.GetQueueRequest(name=QUEUE))

    (again,) = receive(stub, 'dequeue one', max_messages=1)
    emit('new receipt', differs=again.receipt != by_id['high-b'].receipt)
    attempt('ack with the stale receipt', stub.Ack, pb.AckRequest(queue=QUEUE, id='high-b', receipt=by_id['high-b'].receipt))
    attempt('ack with the new receipt', stub.Ack, pb.AckRequest(queue=QUEUE, id='high-b', receipt=again.receipt))

    (mid,) = receive(stub, 'dequeue mid', max_messages=1)
    attempt('nack mid for 5 s', stub.Nack, pb.NackRequest(queue=QUEUE, id='mid', receipt=mid.receipt, delay=Duration(seconds=5)))
    attempt('extend a message not in flight', stub.ExtendVisibility,
            pb.ExtendVisibilityRequest(queue=QUEUE, id='mid', receipt=mid.receipt, visibility_timeout=Duration(seconds=60)))

    attempt('get a missing queue', stub.GetQueue, pb.GetQueueRequest(name='nope'))
    attempt('enqueue to a bad queue name', stub.Enqueue, pb.EnqueueRequest(queue='bad name!', payload=b'x'))
    attempt('enqueue a payload over 256 KiB', stub.Enqueue, pb.EnqueueRequest(queue=QUEUE, payload=b'x' * (256 * 1024 + 1)))
    attempt('enqueue a reserved attribute', stub.Enqueue, pb.EnqueueRequest(queue=QUEUE, payload=b'x', attributes={'coramq.x': 'y'}))
    attempt('create with a missing dead-letter queue', stub.CreateQueue,
            pb.CreateQueueRequest(name='py-other', config=pb.QueueConfig(dead_letter_queue='missing')))
    receive(stub, 'dequeue a missing queue', queue='nope', max_messages=1)
    receive(stub, 'dequeue with a 13 h lease', visibility_timeout=Duration(seconds=13 * 3600), max_messages=1)
    attempt('final stats', stub.GetQueue, pb.GetQueueRequest(name=QUEUE))


if __name__ == '__main__':
    main(sys.argv[1])
