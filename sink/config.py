"""The sink's own settings, on top of the shared `trackflow.settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from trackflow.settings import Settings, env_float, env_int


@dataclass(frozen=True)
class SinkConfig:
    settings: Settings = field(default_factory=Settings)
    # A batch is written when it holds this many rows (all tables together)...
    max_batch_rows: int = field(default_factory=lambda: env_int("SINK_MAX_BATCH_ROWS", 50_000))
    # ...or when its first record is this old.
    flush_interval_s: float = field(
        default_factory=lambda: env_float("SINK_FLUSH_INTERVAL_S", 1.0)
    )
    # How far back, in offsets of one partition, a re-emitted copy of a record
    # is still recognised (see sink/dedup.py).
    dedup_window_offsets: int = field(
        default_factory=lambda: env_int("SINK_DEDUP_WINDOW", 100_000)
    )
    # Longest pause between two attempts at an unavailable ClickHouse.
    retry_max_s: float = field(default_factory=lambda: env_float("SINK_RETRY_MAX_S", 5.0))

    # Kafka static membership (group.instance.id): a restarted sink with the same
    # id takes its partitions back at once instead of waiting for the session
    # timeout. Must be unique per running sink (e.g. the pod name); empty: off.
    instance_id: str = field(default_factory=lambda: os.environ.get("SINK_INSTANCE_ID", ""))

    @property
    def database(self) -> str:
        return self.settings.clickhouse_database

    @property
    def group_id(self) -> str:
        return f"{self.settings.topic_prefix}-sink"

    def __post_init__(self) -> None:
        # One insert must stay one block of clickhouse-driver (1,048,576 rows), or
        # it would no longer be atomic (see sink/writer.py).
        if not 1 <= self.max_batch_rows <= 1_000_000:
            raise ValueError(f"SINK_MAX_BATCH_ROWS must be 1..1000000, got {self.max_batch_rows}")
