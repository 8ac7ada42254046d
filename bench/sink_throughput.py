"""Rows per second the sink writes into ClickHouse's `events` table.

    .venv/bin/python bench/sink_throughput.py [--rows 500000] [--batch-rows 50000]

Two figures, on the stack's ClickHouse (scripts/stack up), in a database of
their own that is dropped afterwards:

- insert: realistic event rows (built by the sink's own row builder from
  records like the stream processor's: 12 properties with nested objects,
  six browsers' user agents, paths, referrers) written through the sink's
  TableWriter in batches of `--batch-rows`; the time counts the inserts only.
- end to end: the same records produced to a fresh `events` topic, then the
  whole sink (Kafka consume, JSON decode, rows, inserts, commits) timed from
  its first written batch until ClickHouse holds every row.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
import uuid
from dataclasses import replace

import orjson
from clickhouse_driver import Client
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.clickhouse.migrations import migrate
from schemas.clickhouse.tables import EVENTS
from sink.clickhouse import ClickHouse
from sink.config import SinkConfig
from sink.rows import event_row
from sink.writer import TableWriter
from tests.sink.conftest import SinkThread, produce
from tests.sink.records import sessions_workload
from trackflow.settings import Settings
from trackflow.topics import Topics


def event_records(topics: Topics, rows: int) -> list[tuple[str, str, dict[str, object]]]:
    records, _ = sessions_workload(topics, "bench", rows)
    return [r for r in records if r[0] == topics.events][:rows]


def bench_insert(settings: Settings, records: list[tuple[str, str, dict[str, object]]],
                 batch_rows: int) -> float:  # fmt: skip
    clickhouse = ClickHouse(settings)
    dialect = clickhouse.dialect()
    migrate(clickhouse, settings.clickhouse_database, dialect)
    rows = [(*event_row(r)[0], i % 4, i) for i, (_, _, r) in enumerate(records)]
    writer = TableWriter(clickhouse, settings.clickhouse_database, dialect, retry_max_s=1)
    started = time.perf_counter()
    for i in range(0, len(rows), batch_rows):
        assert not writer.write(EVENTS, rows[i : i + batch_rows])
    return len(rows) / (time.perf_counter() - started)


def bench_end_to_end(settings: Settings, records: list[tuple[str, str, dict[str, object]]],
                     batch_rows: int) -> float:  # fmt: skip
    topics = Topics(settings.topic_prefix)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    names = [*topics.outputs(), topics.dead_letter]
    for future in admin.create_topics([NewTopic(n, 4, 1) for n in names]).values():
        future.result(timeout=30)
    try:
        produce(settings.kafka_bootstrap, [(t, k, orjson.dumps(r)) for t, k, r in records])
        config = SinkConfig(settings=settings, max_batch_rows=batch_rows, flush_interval_s=1.0)
        client = Client(settings.clickhouse_host, port=settings.clickhouse_port)
        table = f"{settings.clickhouse_database}.events"
        with SinkThread(config):
            while _count(client, table) <= 0:
                time.sleep(0.01)
            started, first = time.perf_counter(), _count(client, table)
            while (written := _count(client, table)) < len(records):
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
        return (written - first) / elapsed
    finally:
        admin.delete_topics(names)


def _count(client: Client, table: str) -> int:
    try:
        return int(client.execute(f"SELECT count() FROM {table}")[0][0])
    except Exception:  # noqa: BLE001 - the table does not exist until the sink migrated
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    args = parser.parse_args()
    gc.set_threshold(100_000, 50, 100)  # as `python -m sink run` does

    name = f"bench_sink_{uuid.uuid4().hex[:8]}"
    settings = replace(Settings(), topic_prefix=name, clickhouse_database=name)
    records = event_records(Topics(name), args.rows)
    size = sum(len(orjson.dumps(r)) for _, _, r in records[:1000]) / 1000
    client = Client(settings.clickhouse_host, port=settings.clickhouse_port)
    inserts: list[float] = []
    try:
        # Three runs: the machine is shared, one run can fall on someone's build.
        for _ in range(3):
            inserts.append(bench_insert(settings, records, args.batch_rows))
            client.execute(f"DROP DATABASE IF EXISTS {name}")
        end_to_end = bench_end_to_end(settings, records, args.batch_rows)
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {name}")
    (version,) = client.execute("SELECT version()")[0]
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, clickhouse {version}")  # fmt: skip
    print(
        f"rows: {len(records)} events, {size:.0f} bytes of JSON each, batches of {args.batch_rows}"
    )
    runs = ", ".join(f"{r:,.0f}" for r in inserts)
    print(f"insert (TableWriter -> events): median {sorted(inserts)[1]:,.0f} rows/s ({runs})")
    print(f"end to end (Kafka -> sink -> events): {end_to_end:,.0f} rows/s")


if __name__ == "__main__":
    main()
