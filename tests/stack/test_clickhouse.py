"""The stack's ClickHouse server, through clickhouse-driver's native protocol."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from clickhouse_driver import Client

pytestmark = pytest.mark.clickhouse


@pytest.fixture
def table(clickhouse: Client, unique_name: str) -> Iterator[str]:
    clickhouse.execute(
        f"CREATE TABLE {unique_name} (day Date, id UInt64, name String) "
        "ENGINE = MergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, id)"
    )
    yield unique_name
    clickhouse.execute(f"DROP TABLE IF EXISTS {unique_name}")


def test_insert_and_select(clickhouse: Client, table: str) -> None:
    rows = [(date(2026, 11, 1 + i % 28), i, f"name-{i}") for i in range(10_000)]
    clickhouse.execute(f"INSERT INTO {table} (day, id, name) VALUES", rows)

    (count, total) = clickhouse.execute(f"SELECT count(), sum(id) FROM {table}")[0]
    assert count == 10_000
    assert total == sum(range(10_000))
    assert clickhouse.execute(f"SELECT name FROM {table} WHERE id = 42") == [("name-42",)]


def test_server_reports_its_version(clickhouse: Client) -> None:
    (version,) = clickhouse.execute("SELECT version()")[0]
    major = int(version.split(".")[0])
    assert major >= 18
