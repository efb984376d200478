"""Enqueues a few mails for the worker, creating the queues the first time.

    python3 producer.py

Every job carries its own id, so running the producer again is safe: an id still in the
queue is not enqueued twice (the server answers duplicate=true).
"""

import json

import grpc
from google.protobuf.duration_pb2 import Duration

from common import connect, error_code, fail
from coramq.v1 import queue_pb2

QUEUE, DEAD_LETTERS = 'emails', 'emails-dead'

# (id, priority, job): higher priority is delivered first, equal priorities in enqueue order.
JOBS = [
    ('newsletter-2026-11', 0, {'template': 'newsletter', 'to': 'subscribers'}),
    ('welcome-ada', 5, {'template': 'welcome', 'to': 'ada@example.com'}),
    ('fax-bob', 1, {'template': 'fax', 'to': 'bob@example.com'}),
    ('reset-grace', 9, {'template': 'password-reset', 'to': 'grace@example.com'}),
    ('welcome-linus', 5, {'template': 'welcome', 'to': 'linus@example.com'}),
]


def create_queue(stub, metadata, name, **config):
    """Creates a queue; one that already exists is fine (QUEUE_EXISTS)."""
    try:
        stub.CreateQueue(queue_pb2.CreateQueueRequest(name=name, config=queue_pb2.QueueConfig(**config)), metadata=metadata)
        print(f'created queue {name}')
    except grpc.RpcError as err:
        if error_code(err) != 'QUEUE_EXISTS':
            fail(f'CreateQueue {name}', err)


def main():
    stub, metadata = connect()
    create_queue(stub, metadata, DEAD_LETTERS)
    # A mail is leased for 30 s per delivery; after 3 failed deliveries it goes to emails-dead.
    create_queue(stub, metadata, QUEUE, visibility_timeout=Duration(seconds=30), max_deliveries=3, dead_letter_queue=DEAD_LETTERS)
    for job_id, priority, job in JOBS:
        request = queue_pb2.EnqueueRequest(
            queue=QUEUE,
            id=job_id,
            payload=json.dumps(job).encode(),
            priority=priority,
            attributes={'content-type': 'application/json'},
        )
        try:
            response = stub.Enqueue(request, metadata=metadata)
        except grpc.RpcError as err:
            fail(f'Enqueue {job_id}', err)
        print(f'{"already queued" if response.duplicate else "enqueued"} {response.id} (priority {priority})')


if __name__ == '__main__':
    main()
