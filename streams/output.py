"""The producer of the stream processor's outputs, confirmed batch by batch.

Contract: `send` only queues; `confirm` returns once Kafka has acknowledged
every record queued so far, and raises `DeliveryFailed` otherwise. The
processor writes its table state only after `confirm` returns, so state never
records an output Kafka does not have (see `streams.processor`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import orjson
from confluent_kafka import KafkaError, Message, Producer

from trackflow.topics import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)


class DeliveryFailed(RuntimeError):
    pass


class Output:
    def __init__(self, bootstrap: str, delivery_timeout_s: float) -> None:
        self._delivery_timeout_s = delivery_timeout_s
        self._errors: list[str] = []
        self._offsets: dict[tuple[Callable[[int, int], None], int], int] = {}
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                # Same partitioner as Kafka's Java clients and the ingress.
                "partitioner": "murmur2_random",
                "queue.buffering.max.messages": 2_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
                "message.timeout.ms": int(delivery_timeout_s * 1000),
                "message.max.bytes": MAX_MESSAGE_BYTES,
            }
        )

    def send(
        self, topic: str, key: str | bytes | None, value: object, partition: int | None = None
    ) -> None:
        payload = value if isinstance(value, bytes) else orjson.dumps(value)
        try:
            self._produce(topic, key, payload, partition)
        except BufferError:
            # The local queue is full: wait for room rather than drop.
            self._producer.poll(1.0)
            self._produce(topic, key, payload, partition)

    def _produce(
        self, topic: str, key: str | bytes | None, payload: bytes, partition: int | None
    ) -> None:
        if partition is None:
            self._producer.produce(topic, payload, key, on_delivery=self._on_delivery)
        else:
            self._producer.produce(
                topic, payload, key, partition=partition, on_delivery=self._on_delivery
            )

    def send_raw(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        partition: int,
        on_offset: Callable[[int, int], None],
    ) -> None:
        """Queue a record (None: a tombstone) whose offset `on_offset` receives
        from `confirm`, in the event loop's thread."""

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self._errors.append(f"{msg.topic()}: {err}")
            else:
                offset = msg.offset()
                if offset is not None and offset > self._offsets.get((on_offset, partition), -1):
                    self._offsets[(on_offset, partition)] = offset

        try:
            self._producer.produce(topic, value, key, partition=partition, on_delivery=delivered)
        except BufferError:
            self._producer.poll(1.0)
            self._producer.produce(topic, value, key, partition=partition, on_delivery=delivered)

    def poll(self) -> None:
        self._producer.poll(0)

    async def confirm(self) -> None:
        loop = asyncio.get_running_loop()
        remaining = await loop.run_in_executor(
            None, self._producer.flush, self._delivery_timeout_s
        )
        if remaining:
            raise DeliveryFailed(f"{remaining} records not confirmed by Kafka")
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryFailed(f"{len(errors)} records refused, first: {errors[0]}")
        offsets, self._offsets = self._offsets, {}
        for (on_offset, partition), offset in offsets.items():
            on_offset(partition, offset)

    def close(self) -> None:
        self._producer.flush(self._delivery_timeout_s)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err}")
