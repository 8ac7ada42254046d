"""The records read since the last commit, as rows per table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sink.rows import Row

TopicPartition = tuple[str, int]


@dataclass
class Batch:
    rows: dict[str, list[Row]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)
    # The records' Kafka key and value, for the dead letter of a row ClickHouse refuses.
    sources: dict[str, list[tuple[bytes | None, bytes | None]]] = field(default_factory=dict)
    # Keys per partition, to catch a record that repeats inside one batch.
    pending_keys: dict[TopicPartition, set[str]] = field(default_factory=dict)
    # Next offset to commit per partition: past every record read, whatever became of it.
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    size: int = 0
    started_s: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.next_offsets)

    def read(self, topic: str, partition: int, offset: int) -> None:
        if not self.next_offsets:
            self.started_s = time.monotonic()
        self.next_offsets[(topic, partition)] = offset + 1

    def has(self, topic: str, partition: int, key: str) -> bool:
        return key in self.pending_keys.get((topic, partition), ())

    def add(
        self, table: str, topic: str, row: Row, key: str, source: tuple[bytes | None, bytes | None]
    ) -> None:
        self.rows.setdefault(table, []).append(row)
        self.keys.setdefault(table, []).append(key)
        self.sources.setdefault(table, []).append(source)
        self.pending_keys.setdefault((topic, row[-2]), set()).add(key)
        self.size += 1

    def age_s(self) -> float:
        return time.monotonic() - self.started_s if self.next_offsets else 0.0
