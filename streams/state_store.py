"""Device state: an in-memory cache in front of a Faust RocksDB table, written
in bulk, with its changelog produced by our own (librdkafka) producer.

Faust stays in charge of the table's life: which partitions this worker holds,
recovery from the changelog at start and on rebalance, standby replicas. What
this module replaces is the per-key write path (Faust's `table[key] = value`),
which costs one Python-level produce per write and made the worker three times
slower than it needs to be.

Contract of `write`: the local RocksDB holds the new values when it returns and
the changelog records are queued on `Output`; they are durable once the next
`Output.confirm()` returns, which the processor awaits before the batch's
offsets can be committed.

XXX: uses the private `_db_for_partition` and `set_persisted_offset` of
Faust's RocksDB store (so its in-memory key index does not know these keys:
reads go by partition, never through `table[key]`); it can go when Faust's table
write path batches its changelog records.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from faust.types import TP

from streams.output import Output
from streams.sessionizer import DeviceState

# Key of each partition's reading position in the raw topic; device keys are
# `project:device` and never start with a NUL byte.
NEXT_OFFSET_KEY = b"\x00raw-next-offset"

# Parsed device states kept in memory; one entry is a few hundred bytes to a
# few kilobytes, so this bounds the cache at some hundreds of megabytes.
CACHE_MAX_DEVICES = 200_000


class DeviceStore:
    def __init__(self, table: Any, output: Output) -> None:
        self._table = table
        self._output = output
        self._cache: OrderedDict[bytes, DeviceState] = OrderedDict()

    @property
    def changelog_topic(self) -> str:
        return str(self._table.changelog_topic.get_topic_name())

    def clear_cache(self) -> None:
        """Forget cached states: after a rebalance another worker may have written them."""
        self._cache.clear()

    def get(self, key: bytes, partition: int) -> DeviceState | None:
        state = self._cache.get(key)
        if state is not None:
            self._cache.move_to_end(key)
            return state
        value = self._table.data._db_for_partition(partition).get(key)
        if value is None:
            return None
        state = DeviceState.loads(value)
        self._remember(key, state)
        return state

    def write(self, key: bytes, state: DeviceState) -> None:
        partition = state.partition
        db = self._table.data._db_for_partition(partition)
        if state.is_empty():
            db.delete(key)
            self._cache.pop(key, None)
            value: bytes | None = None
        else:
            value = state.dumps()
            db.put(key, value)
            self._remember(key, state)
        self._output.send_raw(
            self.changelog_topic, key, value, partition, on_offset=self._persisted
        )

    def next_offset(self, partition: int) -> int | None:
        """Where reading the raw topic's `partition` goes on, or None: from the start."""
        value = self._table.data._db_for_partition(partition).get(NEXT_OFFSET_KEY)
        return int(value) if value is not None else None

    def write_next_offset(self, partition: int, offset: int) -> None:
        value = str(offset).encode()
        self._table.data._db_for_partition(partition).put(NEXT_OFFSET_KEY, value)
        self._output.send_raw(
            self.changelog_topic, NEXT_OFFSET_KEY, value, partition, on_offset=self._persisted
        )

    def items(self) -> Any:
        """(key, state) for every device of the partitions this worker is active for."""
        for key, value in self._table.items():
            if not key.startswith(b"\x00"):
                yield key, DeviceState.loads(value)

    def _remember(self, key: bytes, state: DeviceState) -> None:
        self._cache[key] = state
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_MAX_DEVICES:
            self._cache.popitem(last=False)

    def _persisted(self, partition: int, offset: int) -> None:
        # What Faust's own changelog callback does: remember how far the local
        # store is, so recovery at the next start reads only what follows.
        self._table.data.set_persisted_offset(TP(self.changelog_topic, partition), offset)
