"""The stack's Kafka broker: keyed produce/consume and transactions."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from tests.murmur2 import java_partition, murmur2
from trackflow.settings import Settings

pytestmark = pytest.mark.kafka


def consume_all(bootstrap: str, topic: str, expected: int, isolation: str) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    eof: set[int] = set()
    try:
        while time.monotonic() < deadline and (len(messages) < expected or len(eof) < 4):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(msg.partition())
                    continue
                raise RuntimeError(msg.error())
            messages.append(msg)
    finally:
        consumer.close()
    return messages


def test_murmur2_matches_kafka_reference_values() -> None:
    # Values from Kafka's own UtilsTest for murmur2.
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF


def test_keyed_records_land_where_java_would_put_them(
    stack_settings: Settings, kafka_topic: str
) -> None:
    producer = Producer(
        {
            "bootstrap.servers": stack_settings.kafka_bootstrap,
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    keys = [f"project-1:device-{i}".encode() for i in range(200)]
    for key in keys:
        producer.produce(kafka_topic, key=key, value=b"v:" + key)
    assert producer.flush(30) == 0

    messages = consume_all(
        stack_settings.kafka_bootstrap, kafka_topic, len(keys), "read_committed"
    )

    assert sorted(m.key() for m in messages) == sorted(keys)
    for msg in messages:
        assert msg.partition() == java_partition(msg.key(), 4)
        assert msg.value() == b"v:" + msg.key()
    assert len({m.partition() for m in messages}) == 4


def test_transactions_commit_and_abort(stack_settings: Settings, kafka_topic: str) -> None:
    producer = Producer(
        {
            "bootstrap.servers": stack_settings.kafka_bootstrap,
            "transactional.id": f"tx-{uuid.uuid4().hex}",
        }
    )
    producer.init_transactions(30)

    producer.begin_transaction()
    for i in range(10):
        producer.produce(kafka_topic, key=f"k{i}".encode(), value=b"committed")
    producer.commit_transaction(30)

    producer.begin_transaction()
    for i in range(10):
        producer.produce(kafka_topic, key=f"k{i}".encode(), value=b"aborted")
    # abort_transaction() purges what is still queued; flush so the aborted
    # records really reach the log and read_uncommitted can see them.
    assert producer.flush(30) == 0
    producer.abort_transaction(30)

    committed = consume_all(stack_settings.kafka_bootstrap, kafka_topic, 10, "read_committed")
    assert [m.value() for m in committed] == [b"committed"] * 10

    uncommitted = consume_all(stack_settings.kafka_bootstrap, kafka_topic, 20, "read_uncommitted")
    assert sorted(m.value() for m in uncommitted) == [b"aborted"] * 10 + [b"committed"] * 10
