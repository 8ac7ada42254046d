"""Records to Kafka, acknowledged to asyncio.

Contract: `send(records)` produces every record and returns, per record,
None when Kafka has acknowledged it (acks=all, idempotent) or the error that
made it fail. It never waits longer than `timeout_s`: past that it raises
`ProduceTimeout`, and the caller must not answer 2xx. A record answered as
acknowledged is on every in-sync replica; one not acknowledged may still be
delivered later (at-least-once: the client's retry can duplicate it).

librdkafka calls delivery callbacks from `poll()`; a dedicated thread polls,
counts acknowledgements per request, and wakes the request's future once,
so the event loop never blocks and pays one wake-up per request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from trackflow.logthrottle import Throttle
from trackflow.topics import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)
log.addFilter(Throttle())

# How long one poll() blocks when no callback is due: bounds how late stop()
# is noticed, and costs nothing under load because poll returns at once.
POLL_INTERVAL_S = 0.1


class ProduceTimeout(Exception):
    """Kafka did not acknowledge every record within the request's bound."""


class _Request:
    """Acknowledgements of one request's records, counted in the poll thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.errors: list[str | None] = [None] * count
        self._pending = count
        self._lock = threading.Lock()

    def done(self, index: int, error: str | None) -> None:
        self.errors[index] = error
        with self._lock:
            self._pending -= 1
            finished = self._pending == 0
        if finished:
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


def producer_config(
    bootstrap: str,
    *,
    linger_ms: float,
    compression: str,
    delivery_timeout_s: float,
    extra: dict[str, str | int | float | bool] | None = None,
) -> dict[str, str | int | float | bool]:
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        # the Java client's partitioner, so keys land where Java producers put them
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "compression.type": compression,
        "message.timeout.ms": int(delivery_timeout_s * 1000),
        "socket.connection.setup.timeout.ms": 5000,
        # one replay chunk may be 2 MB of text and a request body 10 MB
        "message.max.bytes": MAX_MESSAGE_BYTES,
        # what a worker holds while Kafka is away; past it records fail at once
        "queue.buffering.max.kbytes": 256 * 1024,
        "client.id": "trackflow-ingress",
    }
    config.update(extra or {})
    return config


class AsyncProducer:
    def __init__(self, config: dict[str, str | int | float | bool], timeout_s: float) -> None:
        # librdkafka's own log lines go to this module's logger, served by
        # poll(); while the broker is away they repeat, so they are throttled
        self._producer = Producer(config, logger=log)
        self._timeout_s = timeout_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll_loop, name="kafka-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(POLL_INTERVAL_S)

    def stop(self, flush_timeout_s: float) -> int:
        """Stop polling; give queued records `flush_timeout_s`. Returns how many are left."""
        self._stopping.set()
        self._thread.join(timeout=POLL_INTERVAL_S * 10)
        left: int = self._producer.flush(flush_timeout_s)
        if left:
            log.warning("producer stopped with undelivered records count=%d", left)
        return left

    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> list[str | None]:
        request = _Request(asyncio.get_running_loop(), len(records))
        if not records:
            return []
        for index, (key, value) in enumerate(records):
            self._produce(request, index, topic, key, value)
        try:
            await asyncio.wait_for(asyncio.shield(request.future), self._timeout_s)
        except TimeoutError:
            raise ProduceTimeout(
                f"Kafka did not acknowledge {len(records)} records in {self._timeout_s:g} s"
            ) from None
        return request.errors

    def _produce(
        self, request: _Request, index: int, topic: str, key: bytes, value: bytes
    ) -> None:
        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            request.done(index, None if error is None else error.str())

        try:
            self._producer.produce(topic, value, key, on_delivery=on_delivery)
        except BufferError:
            # the local queue is full: Kafka is slower than the traffic
            request.done(index, "producer queue full")
        except KafkaException as exc:
            request.done(index, str(exc))

    def ready(self, timeout_s: float) -> bool:
        """Whether a broker answers a metadata request within `timeout_s`; blocks."""
        try:
            self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        return True
