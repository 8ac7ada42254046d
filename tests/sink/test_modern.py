"""The modern rendering and the shipped queries on current ClickHouse, through chDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.clickhouse.migrations import migrate
from schemas.clickhouse.render import Dialect
from schemas.clickhouse.tables import TABLES
from sink.queries import run_all
from sink.rows import routes
from tests.sink.chdb_runner import ChdbRunner
from tests.sink.records import misc_records, sessions_workload
from trackflow.topics import Topics

DB = "trackflow_modern"


@pytest.fixture(scope="module")
def chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbRunner]:
    runner = ChdbRunner(str(tmp_path_factory.mktemp("chdb") / "db"))
    yield runner
    runner.close()


def test_migrations_render_modern_and_run_twice(chdb: ChdbRunner) -> None:
    dialect = Dialect.for_version(chdb.version())
    assert dialect.modern

    assert migrate(chdb, DB, dialect) == [1]
    assert migrate(chdb, DB, dialect) == []

    tables = {
        r[0] for r in chdb.execute(f"SELECT name FROM system.tables WHERE database = '{DB}'")
    }
    assert tables == {t.name for t in TABLES} | {"schema_migrations"}
    types = dict(
        chdb.execute(f"SELECT name, type FROM system.columns WHERE database = '{DB}' "
                     "AND table = 'events'")
    )  # fmt: skip
    assert types["created_at"] == "DateTime64(3)"
    assert types["properties"] == "Map(String, String)"
    assert types["name"] == "LowCardinality(String)"
    (ddl,) = chdb.execute(f"SHOW CREATE TABLE {DB}.session_replay_chunks")[0]
    assert "TTL" in ddl and "CODEC(ZSTD(3))" in ddl
    (ddl,) = chdb.execute(f"SHOW CREATE TABLE {DB}.events")[0]
    assert "INDEX idx_session_id" in ddl
    (engine,) = chdb.execute(f"SELECT engine_full FROM system.tables WHERE database = '{DB}' "
                             "AND name = 'sessions'")[0]  # fmt: skip
    assert engine.startswith("ReplacingMergeTree(version)")


def test_sink_rows_and_shipped_queries(chdb: ChdbRunner, tmp_path: Path) -> None:
    dialect = Dialect.for_version(chdb.version())
    migrate(chdb, DB, dialect)
    topics = Topics("modern")
    records, expected = sessions_workload(topics, "proj-m", n_events=2_000)
    records += list(misc_records(topics, "proj-m"))
    by_table: dict[str, list[tuple[object, ...]]] = {}
    routing = routes(topics)
    for offset, (topic, _key, record) in enumerate(records):
        row, _ = routing[topic].build(record)
        by_table.setdefault(routing[topic].table.name, []).append((*row, 0, offset))
    for table in TABLES:
        chdb.insert_rows(DB, table, by_table[table.name])

    (created, ms) = chdb.execute(
        f"SELECT toString(created_at), toUnixTimestamp64Milli(created_at) FROM {DB}.events "
        "ORDER BY created_at LIMIT 1"
    )[0]
    assert ms == min(r["event_time_ms"] for t, _, r in records if t == topics.events)
    assert created.endswith(f".{ms % 1000:03d}")
    (city,) = chdb.execute(f"SELECT properties['address.city'] FROM {DB}.profiles FINAL")[0]
    assert city == "London"
    (via_dialect,) = chdb.execute(
        f"SELECT {dialect.time_ms('created_at')} FROM {DB}.events ORDER BY created_at LIMIT 1"
    )[0]
    assert via_dialect == ms
    keys_sql, values_sql = dialect.map_keys_values("properties")
    (keys, values) = chdb.execute(f"SELECT {keys_sql}, {values_sql} FROM {DB}.profiles FINAL")[0]
    assert dict(zip(keys, values, strict=True))["address.city"] == "London"

    results = run_all(chdb, dialect, DB, "proj-m")
    assert sum(n for _, n in results["events_per_name"]) == len(expected.event_ids)
    assert results["session_starts_vs_sessions"] == [
        (len(expected.session_ids), len(expected.session_ids))
    ]
    assert dict(results["historical_vs_live_sessions"]) == {
        "live": expected.live_sessions,
        "historical": len(expected.session_ids) - expected.live_sessions,
    }
    assert sum(n for _, _, n in results["sessions_per_day_and_device"]) == len(
        expected.session_ids
    )
    assert results["sessions_per_device_id"]
