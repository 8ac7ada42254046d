"""The queries shipped with trackflow, for data teams; `trackflow demo` prints
some of them.

Each returns SQL for one dialect (schemas/clickhouse/render.py), so the same
question runs on the legacy server and on current ClickHouse. Sessions are
versioned (ReplacingMergeTree), so every sessions query first takes each
session's current version with argMax(..., version); unlike FINAL this is also
right when a session's versions sit in different partitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.clickhouse.migrations import SqlRunner
from schemas.clickhouse.render import Dialect, quote


def _current_sessions(database: str, project: str, *columns: str) -> str:
    picked = ", ".join(f"argMax({c}, version) AS {c}" for c in columns)
    return (
        f"(SELECT id, {picked} FROM {database}.sessions WHERE project_id = {project} GROUP BY id)"
    )


def events_per_name(dialect: Dialect, database: str, project_id: str) -> str:
    return (
        f"SELECT name, count() AS events FROM {database}.events "
        f"WHERE project_id = {quote(project_id)} GROUP BY name ORDER BY events DESC, name"
    )


def sessions_per_day_and_device(dialect: Dialect, database: str, project_id: str) -> str:
    current = _current_sessions(database, quote(project_id), "created_at", "device")
    return (
        f"SELECT toDate(created_at) AS day, device, count() AS sessions FROM {current} "
        "GROUP BY day, device ORDER BY day, device"
    )


def sessions_per_device_id(dialect: Dialect, database: str, project_id: str) -> str:
    current = _current_sessions(database, quote(project_id), "device_id")
    return (
        f"SELECT device_id, count() AS sessions FROM {current} "
        "GROUP BY device_id ORDER BY sessions DESC, device_id LIMIT 20"
    )


def session_starts_vs_sessions(dialect: Dialect, database: str, project_id: str) -> str:
    project = quote(project_id)
    return (
        f"SELECT (SELECT count() FROM {database}.events WHERE project_id = {project} "
        "AND name = 'session_start') AS session_starts, "
        f"(SELECT uniqExact(id) FROM {database}.sessions WHERE project_id = {project}) "
        "AS sessions"
    )


def historical_vs_live_sessions(dialect: Dialect, database: str, project_id: str) -> str:
    current = _current_sessions(database, quote(project_id), "kind")
    return f"SELECT kind, count() AS sessions FROM {current} GROUP BY kind ORDER BY kind"


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    sql: Callable[[Dialect, str, str], str]


QUERIES: tuple[Query, ...] = (
    Query("events_per_name", "Events accepted, per name", events_per_name),
    Query("sessions_per_day_and_device", "Sessions per day and device type",
          sessions_per_day_and_device),
    Query("sessions_per_device_id", "Sessions per device (top 20)", sessions_per_device_id),
    Query("session_starts_vs_sessions", "session_start events vs sessions",
          session_starts_vs_sessions),
    Query("historical_vs_live_sessions", "Historical vs live sessions",
          historical_vs_live_sessions),
)  # fmt: skip


def run_all(
    runner: SqlRunner, dialect: Dialect, database: str, project_id: str
) -> dict[str, list[tuple[Any, ...]]]:
    """Every shipped query's rows, by query name."""
    return {q.name: runner.execute(q.sql(dialect, database, project_id)) for q in QUERIES}
