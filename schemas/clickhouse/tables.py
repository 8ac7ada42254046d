"""The logical definition of every ClickHouse table the sink writes.

A column has a logical type; `render.py` turns it into the server's types:

    string     String                      (both)
    lowstring  LowCardinality(String)      (legacy: String)
    uint16/32/64, float64                  (both)
    bool       Bool                        (legacy: UInt8)
    time_ms    DateTime64(3)               (legacy: `x DateTime` + `x_ms UInt16`, the milliseconds)
    strmap     Map(String, String)         (legacy: `x_keys` + `x_values`, two Array(String))
    strarray   Array(String)               (both)

Sort and partition expressions may name a time column as `@x`: the modern
rendering writes `x`, the legacy one `x, x_ms` (sort key) so that rows keep
their millisecond order.

Every table carries the Kafka position its row came from (`kafka_partition`,
`kafka_offset`): the sink reads it back at start to skip what is already
written (see docs/sink.md, "No duplicates").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LogicalType = Literal[
    "string",
    "lowstring",
    "uint16",
    "uint32",
    "uint64",
    "float64",
    "bool",
    "time_ms",
    "strmap",
    "strarray",
]


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    # Compression codec of the modern rendering; the legacy server has none.
    codec: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    # Empty: one partition.
    partition_by: str = ""
    # The version column of a ReplacingMergeTree; empty for a plain MergeTree.
    version_column: str = ""
    # A SQL expression giving the key that makes a row unique; the sink never
    # writes two rows with the same key (see sink/dedup.py).
    dedup_key_sql: str = "id"
    # Modern rendering only: data-skipping indexes and a TTL expression.
    indexes: tuple[str, ...] = ()
    ttl: str = ""
    comment: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))


UA_COLUMNS = (
    Column("os", "lowstring"),
    Column("os_version", "lowstring"),
    Column("browser", "lowstring"),
    Column("browser_version", "lowstring"),
    Column("device", "lowstring", comment="desktop, mobile, tablet or bot"),
    Column("brand", "lowstring"),
    Column("model", "lowstring"),
)

KAFKA_COLUMNS = (
    Column("kafka_partition", "uint16", "T64, LZ4"),
    Column("kafka_offset", "uint64", "Delta, LZ4"),
)

EVENTS = Table(
    name="events",
    columns=(
        Column("id", "string", "ZSTD(1)"),
        Column("name", "lowstring"),
        Column("sdk_name", "lowstring"),
        Column("sdk_version", "lowstring"),
        Column("device_id", "string", "ZSTD(3)"),
        Column("profile_id", "string", "ZSTD(3)"),
        Column("project_id", "lowstring"),
        Column("session_id", "string", "ZSTD(1)"),
        Column("path", "string", "ZSTD(3)"),
        Column("origin", "lowstring"),
        Column("referrer", "string", "ZSTD(3)"),
        Column("duration", "uint64", "T64, LZ4", "ms; session_end: last minus first event time"),
        Column("revenue", "float64", "Gorilla, LZ4"),
        Column("properties", "strmap", "ZSTD(3)", "flattened to dotted keys, strings only"),
        Column("groups", "strarray", "ZSTD(3)"),
        *UA_COLUMNS,
        Column("created_at", "time_ms", "DoubleDelta, ZSTD(1)", "event time"),
        Column("received_at", "time_ms", "DoubleDelta, ZSTD(1)", "ingress receive time"),
        *KAFKA_COLUMNS,
    ),
    partition_by="toYYYYMM(created_at)",
    order_by=("project_id", "toDate(created_at)", "name", "@created_at"),
    indexes=(
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_device_id device_id TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_path path TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_kafka_offset kafka_offset TYPE minmax GRANULARITY 1",
    ),
    comment="One row per event, session_start and session_end included.",
)

SESSIONS = Table(
    name="sessions",
    columns=(
        Column("id", "string", "ZSTD(1)"),
        Column("project_id", "lowstring"),
        Column("device_id", "string", "ZSTD(3)"),
        Column("profile_id", "string", "ZSTD(3)"),
        Column("kind", "lowstring", comment="live or historical"),
        Column("created_at", "time_ms", "DoubleDelta, ZSTD(1)", "first event time"),
        Column("ended_at", "time_ms", "DoubleDelta, ZSTD(1)", "last event time"),
        Column("duration", "uint64", "T64, LZ4", "ms"),
        Column("event_count", "uint32", "T64, LZ4"),
        Column("screen_view_count", "uint32", "T64, LZ4"),
        Column("entry_path", "string", "ZSTD(3)"),
        Column("exit_path", "string", "ZSTD(3)"),
        Column("entry_origin", "lowstring"),
        Column("referrer", "string", "ZSTD(3)"),
        Column("is_bounce", "bool"),
        Column("is_ended", "bool", comment="true once session_end was emitted"),
        *UA_COLUMNS,
        Column("version", "uint64", "T64, LZ4"),
        *KAFKA_COLUMNS,
    ),
    partition_by="toYYYYMM(created_at)",
    order_by=("project_id", "id"),
    version_column="version",
    dedup_key_sql="concat(id, ':', toString(version))",
    comment="Versions of each session; read the current one with FINAL or argMax(x, version).",
)

PROFILES = Table(
    name="profiles",
    columns=(
        Column("id", "string", "ZSTD(1)"),
        Column("project_id", "lowstring"),
        Column("first_name", "string", "ZSTD(3)"),
        Column("last_name", "string", "ZSTD(3)"),
        Column("email", "string", "ZSTD(3)"),
        Column("avatar", "string", "ZSTD(3)"),
        Column("properties", "strmap", "ZSTD(3)"),
        Column("groups", "strarray", "ZSTD(3)"),
        Column("created_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("updated_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("source_event_id", "string", "ZSTD(1)"),
        Column("version", "uint64", "T64, LZ4"),
        *KAFKA_COLUMNS,
    ),
    order_by=("project_id", "id"),
    version_column="version",
    dedup_key_sql="concat(id, ':', toString(version))",
    comment="Versions of each profile; read the current one with FINAL or argMax(x, version).",
)

GROUPS = Table(
    name="groups",
    columns=(
        Column("id", "string", "ZSTD(1)"),
        Column("project_id", "lowstring"),
        Column("type", "lowstring"),
        Column("name", "string", "ZSTD(3)"),
        Column("properties", "strmap", "ZSTD(3)"),
        Column("created_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("updated_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("source_event_id", "string", "ZSTD(1)"),
        Column("version", "uint64", "T64, LZ4"),
        *KAFKA_COLUMNS,
    ),
    order_by=("project_id", "id"),
    version_column="version",
    dedup_key_sql="concat(id, ':', toString(version))",
    comment="Versions of each group; read the current one with FINAL or argMax(x, version).",
)

REPLAY_CHUNKS = Table(
    name="session_replay_chunks",
    columns=(
        Column("id", "string", "ZSTD(1)"),
        Column("project_id", "lowstring"),
        Column("device_id", "string", "ZSTD(3)"),
        Column("session_id", "string", "ZSTD(1)"),
        Column("chunk_index", "uint16"),
        Column("events_count", "uint32"),
        Column("is_full_snapshot", "bool"),
        Column("started_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("ended_at", "time_ms", "DoubleDelta, ZSTD(1)"),
        Column("payload", "string", "ZSTD(3)"),
        *KAFKA_COLUMNS,
    ),
    partition_by="toYYYYMM(started_at)",
    order_by=("project_id", "session_id", "chunk_index"),
    ttl="toDateTime(started_at) + INTERVAL 30 DAY",
    comment="Chunks of session recordings; kept 30 days on a modern server.",
)

TABLES: tuple[Table, ...] = (EVENTS, SESSIONS, PROFILES, GROUPS, REPLAY_CHUNKS)
