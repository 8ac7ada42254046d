"""The sink's main loop: read a batch, write it to ClickHouse, then commit.

Order of one batch, and why:

1. read records until the batch holds `max_batch_rows` rows or its first
   record is `flush_interval_s` old; a record whose row is already written
   (the dedup guard, sink/dedup.py) is skipped, one that cannot become a row
   goes to the dead-letter topic;
2. write each table's rows with one insert (sink/writer.py: blocks until
   ClickHouse took them, rows refused for their content become dead letters);
3. wait until Kafka acknowledged the batch's dead letters;
4. only then commit the offsets past every record of the batch.

A crash anywhere before 4 re-delivers the batch; the guard, seeded from
ClickHouse on assignment (sink/resume.py), keeps what was written from being
written twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from schemas.clickhouse.render import Dialect
from sink import metrics
from sink.batch import Batch
from sink.clickhouse import ClickHouse
from sink.config import SinkConfig
from sink.deadletter import DeadLetters
from sink.dedup import PartitionGuard
from sink.resume import resume
from sink.rows import Route, RowError, routes
from sink.writer import TableWriter
from trackflow.topics import Topics

log = logging.getLogger(__name__)

# How long one poll waits when the batch is empty: bounds the reaction to stop().
IDLE_POLL_S = 0.5
# Kafka metadata and committed-offset requests answer in milliseconds on a live broker.
KAFKA_REQUEST_TIMEOUT_S = 10.0
MAX_MESSAGES_PER_POLL = 10_000


class Sink:
    def __init__(self, config: SinkConfig, clickhouse: ClickHouse, dialect: Dialect) -> None:
        self.config = config
        self.clickhouse = clickhouse
        self.topics = Topics(config.settings.topic_prefix)
        self.routes: dict[str, Route] = routes(self.topics)
        self.writer = TableWriter(clickhouse, config.database, dialect, config.retry_max_s)
        self.dead_letters = DeadLetters(config.settings.kafka_bootstrap, self.topics.dead_letter)
        self.guards: dict[tuple[str, int], PartitionGuard] = {}
        self.batch = Batch()
        self._stop = threading.Event()
        self._last_consumer_warning_s = 0.0
        self._consumer = Consumer(self._consumer_config())

    def _consumer_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": self.config.settings.kafka_bootstrap,
            "group.id": self.config.group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "statistics.interval.ms": 5000,
            "stats_cb": self._on_stats,
            # A sink that died is noticed after 10 s (the broker's minimum is 6 s).
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 2_000,
        }
        if self.config.instance_id:
            config["group.instance.id"] = self.config.instance_id
        return config

    def stop(self) -> None:
        """Asks the loop to write what it holds, commit and return."""
        self._stop.set()

    def run(self) -> None:
        log.info(
            "sink starting group=%s topics=%s database=%s max_batch_rows=%d "
            "flush_interval_s=%.2f dedup_window_offsets=%d",
            self.config.group_id,
            ",".join(self.routes),
            self.config.database,
            self.config.max_batch_rows,
            self.config.flush_interval_s,
            self.config.dedup_window_offsets,
        )
        self._consumer.subscribe(
            list(self.routes),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not self._stop.is_set():
                self._poll()
                if self._batch_due():
                    self._flush()
            self._flush()
        finally:
            self._consumer.close()
            log.info("sink stopped")

    # --- reading ---------------------------------------------------------------

    def _batch_due(self) -> bool:
        if not self.batch:
            return False
        return (
            self.batch.size >= self.config.max_batch_rows
            or self.batch.age_s() >= self.config.flush_interval_s
        )

    def _poll(self) -> None:
        if self.batch:
            timeout_s = max(0.0, self.config.flush_interval_s - self.batch.age_s())
        else:
            timeout_s = IDLE_POLL_S
        room = max(1, min(MAX_MESSAGES_PER_POLL, self.config.max_batch_rows - self.batch.size))
        for message in self._consumer.consume(num_messages=room, timeout=timeout_s):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                self._warn_consumer_error(str(error))
                continue
            self._add(message)

    def _warn_consumer_error(self, error: str) -> None:
        # A missing topic is reported on every poll; once per 10 s says enough.
        now = time.monotonic()
        if now - self._last_consumer_warning_s >= 10:
            log.warning("kafka consumer error: %s", error)
            self._last_consumer_warning_s = now

    def _add(self, message: Message) -> None:
        topic = message.topic()
        partition = message.partition()
        offset = message.offset()
        assert topic is not None and partition is not None and offset is not None
        route = self.routes[topic]
        self.batch.read(topic, partition, offset)
        value = message.value()
        try:
            record = orjson.loads(value or b"")
            if not isinstance(record, dict):
                raise RowError("the record is not a JSON object")
            row, key = route.build(record)
        except (orjson.JSONDecodeError, RowError) as exc:
            self.dead_letters.send(
                topic,
                partition,
                offset,
                message.key(),
                value,
                str(exc),
                route.table.name,
            )
            return
        guard = self.guards.get((topic, partition))
        if (guard is not None and key in guard) or self.batch.has(topic, partition, key):
            metrics.DUPLICATES_SKIPPED.labels(route.table.name).inc()
            return
        source = (message.key(), value)
        self.batch.add(route.table.name, topic, (*row, partition, offset), key, source)

    # --- writing ---------------------------------------------------------------

    def _flush(self) -> None:
        batch, self.batch = self.batch, Batch()
        if not batch:
            return
        for route in self.routes.values():
            rows = batch.rows.get(route.table.name)
            if rows:
                self._write_table(route, rows, batch)
        self.dead_letters.flush()
        self._commit(batch)
        metrics.BATCH_ROWS.observe(batch.size)
        log.debug("batch written rows=%d partitions=%d", batch.size, len(batch.next_offsets))

    def _write_table(self, route: Route, rows: list[tuple[Any, ...]], batch: Batch) -> None:
        rejected = self.writer.write(route.table, rows)
        refused = {(row[-2], row[-1]) for row, _ in rejected}
        if rejected:
            sources = batch.sources[route.table.name]
            index = {(row[-2], row[-1]): i for i, row in enumerate(rows)}
            for row, reason in rejected:
                record_key, value = sources[index[(row[-2], row[-1])]]
                self.dead_letters.send(
                    route.topic,
                    row[-2],
                    row[-1],
                    record_key,
                    value,
                    f"clickhouse refused the row: {reason}",
                    route.table.name,
                )
        keys = batch.keys[route.table.name]
        for row, key in zip(rows, keys, strict=True):
            partition, offset = row[-2], row[-1]
            if (partition, offset) in refused:
                continue
            guard = self.guards.get((route.topic, partition))
            if guard is not None:
                guard.add(offset, key)

    def _commit(self, batch: Batch) -> None:
        offsets = [TopicPartition(t, p, o) for (t, p), o in batch.next_offsets.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # The rows are written; the records come again and the guard skips them.
            log.warning("offset commit failed, records will be re-read and skipped: %s", exc)

    # --- partition assignment --------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=KAFKA_REQUEST_TIMEOUT_S)
        for tp, done in zip(partitions, committed, strict=True):
            topic = tp.topic
            low, _high = consumer.get_watermark_offsets(tp, timeout=KAFKA_REQUEST_TIMEOUT_S)
            start, guard = resume(
                self.clickhouse,
                self.config.database,
                self.routes[topic].table,
                topic,
                tp.partition,
                done.offset if done.offset >= 0 else None,
                low,
                self.config.dedup_window_offsets,
                self.config.retry_max_s,
            )
            self.guards[(topic, tp.partition)] = guard
            tp.offset = start
        consumer.assign(partitions)
        log.info(
            "partitions assigned %s",
            " ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in partitions),
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info(
            "partitions revoked %s; writing the batch first",
            " ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions),
        )
        self._flush()
        for tp in partitions:
            self.guards.pop((tp.topic, tp.partition), None)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The partitions may already be another sink's: writing or committing now
        # could race it. Drop everything; on reassignment we resume from ClickHouse.
        log.warning(
            "partitions lost %s; dropping the unwritten batch",
            " ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions),
        )
        self.batch = Batch()
        self.guards.clear()

    def _on_stats(self, stats_json: str) -> None:
        stats = orjson.loads(stats_json)
        for topic, data in stats.get("topics", {}).items():
            for partition, values in data.get("partitions", {}).items():
                lag = values.get("consumer_lag", -1)
                if partition != "-1" and lag >= 0:
                    metrics.CONSUMER_LAG.labels(topic, partition).set(lag)
