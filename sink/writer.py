"""Writes one table's rows of a batch with one insert, whatever ClickHouse does.

Contract of `TableWriter.write`: when it returns, every row it was given is
either in ClickHouse exactly once or returned as rejected with the reason.
It blocks, retrying with backoff, for as long as ClickHouse is unreachable
or refusing; it never drops a row.

- An insert is one clickhouse-driver block (batches stay under its 1,048,576
  rows), so ClickHouse applies it whole or not at all, except that a failure
  of the connection leaves the outcome unknown. Before retrying after such a
  failure the writer asks ClickHouse which of the rows' Kafka positions it
  already holds and sends only the others.
- A row ClickHouse cannot take for its content (a value the column type
  cannot hold) fails the whole insert; the writer then halves the rows until
  it finds the ones at fault, writes the rest, and returns those as rejected.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from clickhouse_driver.errors import ServerException, TypeMismatchError

from schemas.clickhouse.render import Dialect
from schemas.clickhouse.tables import Table
from sink import metrics
from sink.clickhouse import ClickHouse
from sink.rows import Row

log = logging.getLogger(__name__)

# Raised by clickhouse-driver while it serialises a value the column cannot hold.
CLIENT_CONTENT_ERRORS = (
    TypeError,
    ValueError,
    OverflowError,
    struct.error,
    UnicodeError,
    TypeMismatchError,
)
# Server error codes that mean "this data", not "this server": parse failures,
# type mismatches, values out of range.
SERVER_CONTENT_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321})


class ContentError(Exception):
    """ClickHouse refused the rows for what they contain."""


def is_content_error(exc: BaseException) -> bool:
    if isinstance(exc, ServerException):
        return exc.code in SERVER_CONTENT_CODES
    return isinstance(exc, CLIENT_CONTENT_ERRORS)


class TableWriter:
    def __init__(
        self,
        clickhouse: ClickHouse,
        database: str,
        dialect: Dialect,
        retry_max_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clickhouse = clickhouse
        self.database = database
        self.dialect = dialect
        self.retry_max_s = retry_max_s
        self._sleep = sleep
        # Modern servers refuse an insert touching more than 100 partitions
        # (months) by default; historical imports do. The setting and the limit
        # arrived together, so an old server that ignores it has no limit.
        self._insert_settings: dict[str, Any] = (
            {"max_partitions_per_insert_block": 0} if dialect.modern else {}
        )

    def write(self, table: Table, rows: list[Row]) -> list[tuple[Row, str]]:
        """Writes `rows` (logical rows ending with partition, offset); returns the rejected."""
        rejected: list[tuple[Row, str]] = []
        if rows:
            self._write_or_split(table, rows, rejected)
        return rejected

    def _write_or_split(
        self, table: Table, rows: list[Row], rejected: list[tuple[Row, str]]
    ) -> None:
        try:
            self._insert_until_done(table, rows)
        except ContentError as exc:
            if len(rows) == 1:
                rejected.append((rows[0], str(exc)))
                return
            middle = len(rows) // 2
            self._write_or_split(table, rows[:middle], rejected)
            self._write_or_split(table, rows[middle:], rejected)

    def _insert_until_done(self, table: Table, rows: list[Row]) -> None:
        pending = rows
        outcome_unknown = False
        attempt = 0
        while True:
            try:
                if outcome_unknown:
                    pending = self._not_yet_written(table, pending)
                    outcome_unknown = False
                    if not pending:
                        return
                self._insert(table, pending)
                if attempt:
                    log.info(
                        "clickhouse insert succeeded again table=%s attempts=%d",
                        table.name,
                        attempt + 1,
                    )
                return
            except Exception as exc:  # sorted below: content error, or retried
                if is_content_error(exc):
                    raise ContentError(f"{type(exc).__name__}: {exc}") from exc
                attempt += 1
                outcome_unknown = True
                self.clickhouse.disconnect()
                pause_s = min(self.retry_max_s, 0.2 * 2**attempt)
                metrics.INSERT_RETRIES.labels(table.name).inc()
                log.warning(
                    "clickhouse insert failed table=%s rows=%d attempt=%d retry_in_s=%.1f: %s: %s",
                    table.name,
                    len(pending),
                    attempt,
                    pause_s,
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
                self._sleep(pause_s)

    def _insert(self, table: Table, rows: list[Row]) -> None:
        names = [*self.dialect.physical_names(table)]
        columns = self.dialect.physical_columns(table, rows)
        started = time.perf_counter()
        self.clickhouse.insert_columns(
            f"{self.database}.{table.name}", names, columns, self._insert_settings
        )
        metrics.INSERT_SECONDS.labels(table.name).observe(time.perf_counter() - started)
        metrics.ROWS_WRITTEN.labels(table.name).inc(len(rows))

    def _not_yet_written(self, table: Table, rows: list[Row]) -> list[Row]:
        """The rows whose Kafka position is not in the table (after an unknown outcome)."""
        ranges: dict[int, tuple[int, int]] = {}
        for row in rows:
            partition, offset = row[-2], row[-1]
            low, high = ranges.get(partition, (offset, offset))
            ranges[partition] = (min(low, offset), max(high, offset))
        where = " OR ".join(
            f"(kafka_partition = {p} AND kafka_offset BETWEEN {low} AND {high})"
            for p, (low, high) in ranges.items()
        )
        present = set(
            self.clickhouse.execute(
                f"SELECT kafka_partition, kafka_offset FROM {self.database}.{table.name} "
                f"WHERE {where}"
            )
        )
        if present:
            log.info(
                "clickhouse had taken rows of the failed insert table=%s rows=%d",
                table.name,
                len(present),
            )
        return [row for row in rows if (row[-2], row[-1]) not in present]
