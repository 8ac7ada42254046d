"""Fixtures of the sink tests: a private topic prefix and database per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.clickhouse.migrations import migrate
from sink.clickhouse import ClickHouse
from sink.config import SinkConfig
from sink.consumer import Sink
from trackflow.settings import Settings
from trackflow.topics import Topics


@pytest.fixture
def sink_settings(
    stack_settings: Settings, kafka_admin: AdminClient, clickhouse: Client, unique_name: str
) -> Iterator[Settings]:
    """Settings with a fresh topic prefix (topics created) and a database name of their own."""
    settings = replace(stack_settings, topic_prefix=unique_name, clickhouse_database=unique_name)
    topics = Topics(unique_name)
    names = [*topics.outputs(), topics.dead_letter]
    futures = kafka_admin.create_topics([NewTopic(n, 4, 1) for n in names])
    for future in futures.values():
        future.result(timeout=30)
    yield settings
    kafka_admin.delete_topics(names)
    clickhouse.execute(f"DROP DATABASE IF EXISTS {unique_name}")


def produce(bootstrap: str, records: Iterable[tuple[str, str, Any]]) -> int:
    """Writes (topic, key, record) in order, JSON unless already bytes; returns the count."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True}
    )
    count = 0
    for topic, key, record in records:
        value = record if isinstance(record, bytes) else orjson.dumps(record)
        while True:
            try:
                producer.produce(topic, value, key.encode())
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "Kafka did not acknowledge every record in 60 s"
    return count


class SinkThread:
    """The sink running in this process, stopped (batch written, offsets committed) on exit."""

    def __init__(self, config: SinkConfig) -> None:
        clickhouse = ClickHouse(config.settings)
        dialect = clickhouse.dialect()
        migrate(clickhouse, config.database, dialect)
        self.sink = Sink(config, clickhouse, dialect)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.sink.run()
        except BaseException as exc:  # noqa: BLE001 - kept and raised in the test's thread
            self.error = exc

    def __enter__(self) -> SinkThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sink.stop()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the sink did not stop in 60 s"
        if self.error is not None:
            raise self.error


def wait_for(
    what: str, check: Callable[[], bool], timeout_s: float = 60.0, every_s: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def count(client: Client, query: str) -> int:
    """The first value of `query`, or -1 while the table does not exist yet."""
    try:
        return int(client.execute(query)[0][0])
    except ServerException as exc:
        if exc.code in (60, 81):  # UNKNOWN_TABLE, UNKNOWN_DATABASE: the sink is starting
            return -1
        raise


def caught_up(config: SinkConfig) -> bool:
    """Has the sink's group committed the end of every partition of its topics?"""
    consumer = Consumer({"bootstrap.servers": config.settings.kafka_bootstrap,
                         "group.id": config.group_id})  # fmt: skip
    try:
        topics = Topics(config.settings.topic_prefix)
        partitions = [
            TopicPartition(topic, p)
            for topic in topics.outputs()
            for p in range(config.settings.partitions)
        ]
        committed = consumer.committed(partitions, timeout=10)
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high > 0 and tp.offset != high:
                return False
        return True
    finally:
        consumer.close()
