"""Every metric the sink exports (prometheus_client), each with its meaning."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter(
    "trackflow_sink_rows_written",
    "Rows ClickHouse confirmed, per table. Flat while lag grows: ClickHouse is refusing.",
    ["table"],
)
BATCH_ROWS = Histogram(
    "trackflow_sink_batch_rows",
    "Rows per written batch, all tables together. Near the maximum: the sink is behind.",
    buckets=(10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000),
)
INSERT_SECONDS = Histogram(
    "trackflow_sink_insert_seconds",
    "Time of one successful insert, per table. Growing: ClickHouse is overloaded.",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INSERT_RETRIES = Counter(
    "trackflow_sink_insert_retries",
    "Inserts retried after ClickHouse was unreachable or refused, per table.",
    ["table"],
)
CONSUMER_LAG = Gauge(
    "trackflow_sink_consumer_lag",
    "Records in Kafka not yet committed by the sink, per topic and partition.",
    ["topic", "partition"],
)
DUPLICATES_SKIPPED = Counter(
    "trackflow_sink_duplicates_skipped",
    "Records not written because their row is already in ClickHouse, per table.",
    ["table"],
)
DEAD_LETTERS = Counter(
    "trackflow_sink_dead_letters",
    "Records sent to the dead-letter topic, per table. Any: look at that topic.",
    ["table"],
)
