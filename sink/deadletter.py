"""Records the sink cannot write, to `<prefix>.dead-letter` (schemas/kafka/dead-letter.v1.json)."""

from __future__ import annotations

import logging
import time

import orjson
from confluent_kafka import KafkaError, Message, Producer

from sink import metrics
from trackflow.topics import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

MAX_VALUE_BYTES = 1_000_000
# Each flush waits this long per round; Kafka down means the consumer is stuck as well.
FLUSH_ROUND_S = 10.0


class DeadLetterError(RuntimeError):
    """A dead letter could not be delivered; the batch must not be committed."""


class DeadLetters:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "linger.ms": 50,
                "message.max.bytes": MAX_MESSAGE_BYTES,
            }
        )
        self._failed: list[str] = []
        self._last_warning_s = 0.0
        self._suppressed = 0

    def send(
        self,
        source_topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: str,
        table: str,
    ) -> None:
        record = {
            "v": 1,
            "stage": "sink",
            "source_topic": source_topic,
            "partition": partition,
            "offset": offset,
            "error": error,
            "table": table,
            "value": (value or b"")[:MAX_VALUE_BYTES].decode("utf-8", errors="replace"),
            "failed_at_ms": int(time.time() * 1000),
        }
        self._producer.produce(self.topic, orjson.dumps(record), key, on_delivery=self._delivered)
        self._producer.poll(0)
        metrics.DEAD_LETTERS.labels(table).inc()
        self._warn(source_topic, partition, offset, table, error)

    def _warn(self, topic: str, partition: int, offset: int, table: str, error: str) -> None:
        # Bad payloads come in bursts; one warning per 10 s says enough.
        now = time.monotonic()
        if now - self._last_warning_s < 10:
            self._suppressed += 1
            return
        log.warning(
            "dead letter topic=%s partition=%d offset=%d table=%s error=%s "
            "(and %d more since the last warning)",
            topic,
            partition,
            offset,
            table,
            error[:200],
            self._suppressed,
        )
        self._last_warning_s = now
        self._suppressed = 0

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failed.append(str(err))

    def flush(self) -> None:
        """Returns once every dead letter sent so far is acknowledged by Kafka."""
        while self._producer.flush(FLUSH_ROUND_S) > 0:
            log.warning("dead letters not yet acknowledged by Kafka; waiting")
        if self._failed:
            failed, self._failed = self._failed, []
            raise DeadLetterError(f"{len(failed)} dead letters not delivered: {failed[0]}")
