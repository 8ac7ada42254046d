"""Where the sink resumes a partition, and what it has already written there.

Contract of `resume`: it returns the offset to start reading at and a guard
holding the dedup keys of every row the table holds from that partition at
offsets from `start - window` on, so no record read from `start` on is
written twice. It blocks, retrying, while ClickHouse is unreachable.
"""

from __future__ import annotations

import logging
import time

from schemas.clickhouse.tables import Table
from sink.clickhouse import ClickHouse
from sink.dedup import PartitionGuard

log = logging.getLogger(__name__)

# Loading more keys than this means the committed offsets were lost (a new
# consumer group over an old database); then the sink starts after the last
# stored row instead of re-reading the whole partition.
MAX_SEED_ROWS = 2_000_000


def resume(
    clickhouse: ClickHouse,
    database: str,
    table: Table,
    topic: str,
    partition: int,
    committed: int | None,
    low_watermark: int,
    window_offsets: int,
    retry_max_s: float,
) -> tuple[int, PartitionGuard]:
    start = committed if committed is not None and committed >= 0 else low_watermark
    attempt = 0
    while True:
        try:
            return _resume(clickhouse, database, table, partition, start, window_offsets)
        except Exception as exc:  # noqa: BLE001 - ClickHouse unavailable: wait, then retry
            attempt += 1
            pause_s = min(retry_max_s, 0.2 * 2**attempt)
            clickhouse.disconnect()
            log.warning(
                "cannot read resume point topic=%s partition=%d attempt=%d: %s",
                topic,
                partition,
                attempt,
                exc,
            )
            time.sleep(pause_s)


def _resume(
    clickhouse: ClickHouse,
    database: str,
    table: Table,
    partition: int,
    start: int,
    window_offsets: int,
) -> tuple[int, PartitionGuard]:
    source = f"{database}.{table.name}"
    ((stored, last),) = clickhouse.execute(
        f"SELECT count(), max(kafka_offset) FROM {source} "
        f"WHERE kafka_partition = {partition} AND kafka_offset >= {start}"
    )
    if stored > MAX_SEED_ROWS:
        log.warning(
            "no usable committed offset table=%s partition=%d stored_rows=%d; "
            "resuming after the last stored offset %d",
            table.name,
            partition,
            stored,
            last,
        )
        start = int(last) + 1
    guard = PartitionGuard(window_offsets)
    seed_from = max(0, start - window_offsets)
    rows = clickhouse.execute(
        f"SELECT kafka_offset, {table.dedup_key_sql} FROM {source} "
        f"WHERE kafka_partition = {partition} AND kafka_offset >= {seed_from} "
        "ORDER BY kafka_offset"
    )
    for offset, key in rows:
        guard.add(int(offset), str(key))
    log.info(
        "resuming table=%s partition=%d offset=%d rows_after_commit=%d guard_keys=%d",
        table.name,
        partition,
        start,
        stored,
        len(guard),
    )
    return start, guard
