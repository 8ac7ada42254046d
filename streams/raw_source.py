"""Reading the raw events topic with librdkafka, on the partitions Faust assigns.

Faust's own consumer spends about 90 µs of Python per record, which alone kept
a worker under 10,000 events/s. So the raw topic is not a Faust source: the
Faust group (ticks, ops and changelog topics, co-partitioned) decides which
partitions this worker owns, and this reader consumes the same raw partitions
with a confluent-kafka consumer in `assign` mode.

Progress is kept in the devices table itself (`DeviceStore.write_next_offset`,
written after each batch's outputs and states are confirmed), so it moves
between workers with the table's changelog. On a rebalance the reader stops
before Faust revokes anything (the revoke handler waits for the batch in
flight) and starts again, at the recovered positions, once Faust has finished
recovering the tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from streams.incoming import Incoming

log = logging.getLogger(__name__)

IDLE_SLEEP_S = 0.02


class RawSource:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        batch_max: int,
        handle: Callable[[list[Incoming]], Awaitable[None]],
        next_offset: Callable[[int], int | None],
    ) -> None:
        self._topic = topic
        self._batch_max = batch_max
        self._handle = handle
        self._next_offset = next_offset
        self._partitions: list[int] | None = None
        # partition -> next offset to hand over; OFFSET_BEGINNING until known
        self._positions: dict[int, int] = {}
        self.lock = asyncio.Lock()
        # Positions are not committed here (see module doc); the group only
        # names this reader in broker tools. It never subscribes, so no
        # group membership competes with Faust's.
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 50,
                "queued.max.messages.kbytes": 65536,
            }
        )

    async def pause(self) -> None:
        """Stop reading, after the batch in flight is done."""
        async with self.lock:
            if self._partitions is not None:
                self._consumer.unassign()
                self._partitions = None

    async def resume(self, partitions: list[int]) -> None:
        async with self.lock:
            offsets = []
            for partition in partitions:
                stored = self._next_offset(partition)
                offset = stored if stored is not None else OFFSET_BEGINNING
                offsets.append(TopicPartition(self._topic, partition, offset))
            self._consumer.assign(offsets)
            self._partitions = partitions
            self._positions = {tp.partition: tp.offset for tp in offsets}
            log.info(
                "raw reader assigned topic=%s positions=%s",
                self._topic,
                {tp.partition: tp.offset for tp in offsets},
            )

    def is_caught_up(self, partition: int) -> bool:
        """Whether every raw record of `partition` the broker had at the last
        fetch has been handed over (give or take one batch).

        Session ends wait for this, so that a worker restarting after a crash,
        or taking over a partition with a backlog, does not end sessions whose
        next events are queued behind.
        """
        position = self._positions.get(partition)
        if self._partitions is None or position is None:
            return False
        low, high = self._consumer.get_watermark_offsets(
            TopicPartition(self._topic, partition), cached=True
        )
        if high < 0:
            return False  # nothing fetched yet
        if position < 0:
            position = low
        return high - position <= self._batch_max

    async def run(self) -> None:
        try:
            while True:
                if self._partitions is None:
                    await asyncio.sleep(IDLE_SLEEP_S)
                    continue
                async with self.lock:
                    batch = self._read() if self._partitions is not None else []
                    if batch:
                        await self._handle(batch)
                        for record in batch:
                            self._positions[record.partition] = record.offset + 1
                if len(batch) < self._batch_max // 10:
                    await asyncio.sleep(IDLE_SLEEP_S)
        finally:
            self._consumer.close()

    def _read(self) -> list[Incoming]:
        batch: list[Incoming] = []
        for message in self._consumer.consume(self._batch_max, timeout=0):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal():
                    raise RuntimeError(f"raw reader: {error}")
                log.warning("raw reader error=%s", error)
                continue
            partition, offset = message.partition(), message.offset()
            assert partition is not None and offset is not None, "consumed records have both"
            batch.append(Incoming(self._topic, partition, offset, message.key(), message.value()))
        return batch
