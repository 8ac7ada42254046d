"""Producing raw events and reading the stream processor's outputs in tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from trackflow.topics import record_key

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def now_ms() -> int:
    return int(time.time() * 1000)


def raw_event(
    project_id: str,
    device_id: str,
    event_time_ms: int,
    *,
    timeout_ms: int,
    window_ms: int = 5 * DAY_MS,
    received_at_ms: int | None = None,
    kind: str = "track",
    name: str = "screen_view",
    **fields: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "type": kind,
        "project_id": project_id,
        "device_id": device_id,
        "profile_id": None,
        "event_time_ms": event_time_ms,
        "received_at_ms": received_at_ms if received_at_ms is not None else now_ms(),
        "session_timeout_ms": timeout_ms,
        "window_ms": window_ms,
        "user_agent": "pytest",
        "properties": {},
    }
    if kind == "track":
        record["name"] = name
        record["path"] = f"/p/{event_time_ms}"
    record.update(fields)
    return record


def produce(bootstrap: str, topic: str, events: Iterable[dict[str, Any]]) -> int:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5}
    )
    count = 0
    for event in events:
        key = record_key(event["project_id"], event["device_id"])
        producer.produce(topic, orjson.dumps(event), key)
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0, "raw events not confirmed by Kafka"
    return count


def produce_bytes(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value, key)
    assert producer.flush(30) == 0


class TopicReader:
    """Reads a topic from the start, keeping every record's decoded value."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.records: list[dict[str, Any]] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        # Assigned, not subscribed: no group join (Kafka delays a new group's
        # first rebalance by 3 s).
        metadata = self._consumer.list_topics(topic, timeout=10)
        self._consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.topics[topic].partitions]
        )

    def poll_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            messages = self._consumer.consume(10_000, timeout=0.2)
            for message in messages:
                if message.error():
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(message.error())
                self.records.append(orjson.loads(message.value()))

    def wait_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float, what: str
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll_for(0.5)
            if done(self.records):
                return self.records
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")

    def close(self) -> None:
        self._consumer.close()
