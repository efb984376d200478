"""Works through the mails: one Dequeue stream pushes each message the moment it is ready,
highest priority first; the worker handles it and acks it with its delivery's receipt. A
mail it cannot handle is nacked and comes back after --retry-delay; once it has had the
queue's max_deliveries, the server moves it to the dead-letter queue.

    python3 worker.py [--queue emails] [--prefetch 10] [--retry-delay 10]
                      [--max-messages N] [--wait-time SECONDS]

Without --max-messages or --wait-time it runs until Ctrl-C.
"""

import argparse
import json

import grpc
from google.protobuf.duration_pb2 import Duration

from common import connect, error_code, fail
from coramq.v1 import queue_pb2

TEMPLATES = {'welcome', 'password-reset', 'newsletter'}


def handle(message):
    """Sends the mail (here: prints it). Raises for a job it cannot do."""
    job = json.loads(message.payload)
    if job['template'] not in TEMPLATES:
        raise ValueError(f'no template {job["template"]!r}')
    return f'{job["template"]} mail to {job["to"]}'


def seconds(value):
    return Duration(nanos=int(round(value * 1e9)) % 10**9, seconds=int(value))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--queue', default='emails')
    parser.add_argument('--prefetch', type=int, default=10, help='most unacked deliveries at a time (max_in_flight)')
    parser.add_argument('--retry-delay', type=float, default=10, help='seconds before a failed mail is tried again')
    parser.add_argument('--max-messages', type=int, default=0, help='stop after this many deliveries')
    parser.add_argument('--wait-time', type=float, help='stop when no message came for this many seconds')
    args = parser.parse_args()

    stub, metadata = connect()
    request = queue_pb2.DequeueRequest(queue=args.queue, max_messages=args.max_messages, max_in_flight=args.prefetch)
    if args.wait_time is not None:
        request.wait_time.CopyFrom(seconds(args.wait_time))
    stream = stub.Dequeue(request, metadata=metadata)
    try:
        for response in stream:
            for message in response.messages:
                settle(stub, metadata, args, message)
    except KeyboardInterrupt:
        stream.cancel()  # unacked deliveries come back when their lease ends
    except grpc.RpcError as err:
        fail('Dequeue', err)


def settle(stub, metadata, args, message):
    what = f'{message.id} (priority {message.priority}, delivery {message.delivery_count})'
    receipt = dict(queue=message.queue, id=message.id, receipt=message.receipt)
    try:
        try:
            done = handle(message)
        except Exception as problem:  # a job we cannot do: give it back
            nacked = stub.Nack(queue_pb2.NackRequest(delay=seconds(args.retry_delay), **receipt), metadata=metadata)
            print(f'{what}: {problem}: {"moved to the dead-letter queue" if nacked.dead_lettered else "given back"}')
            return
        stub.Ack(queue_pb2.AckRequest(**receipt), metadata=metadata)
        print(f'{what}: {done}')
    except grpc.RpcError as err:
        # The lease ended first (MESSAGE_NOT_IN_FLIGHT, STALE_RECEIPT): the message is, or
        # will be, delivered again; whoever gets it then settles it.
        if error_code(err) not in ('MESSAGE_NOT_IN_FLIGHT', 'STALE_RECEIPT'):
            fail(f'settling {message.id}', err)
        print(f'{what}: lease lost ({error_code(err)}), it will be delivered again')


if __name__ == '__main__':
    main()
