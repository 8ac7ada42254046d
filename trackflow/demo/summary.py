"""What the demo prints, read back from ClickHouse.

The queries use only columns both table renderings share (see
`schemas/clickhouse/tables.py`), so they run on ClickHouse 18.16 and on
current servers alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clickhouse_driver import Client
from rich.console import Console
from rich.table import Table

from schemas.clickhouse.render import Dialect
from sink import queries
from trackflow.demo.replay import ReplayResult
from trackflow.settings import Settings

SESSION_EVENTS = ("session_start", "session_end")


@dataclass
class Summary:
    project_id: str
    settled: bool
    stored_events: int
    events_by_name: list[tuple[str, int]]
    sessions: int
    session_starts: int
    session_ends: int
    sessions_by_kind: dict[str, int]
    sessions_by_day: list[tuple[str, int]]
    busiest_devices: list[tuple[str, int, int]]
    devices: int
    replays: dict[str, ReplayResult] = field(default_factory=dict)


def _client(config: Settings) -> Client:
    return Client(
        host=config.clickhouse_host,
        port=config.clickhouse_port,
        database=config.clickhouse_database,
        connect_timeout=5,
        send_receive_timeout=60,
    )


def _rows(client: Client, sql: str, project_id: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = client.execute(sql, {"project": project_id})
    return rows


def stored_counts(client: Client, project_id: str) -> tuple[int, int, int]:
    """(events other than session_start/end, distinct sessions among them, session_starts)."""
    ((events, sessions, starts),) = _rows(
        client,
        "SELECT countIf(name NOT IN ('session_start', 'session_end')),"
        " uniqExactIf(session_id, name NOT IN ('session_start', 'session_end')),"
        " countIf(name = 'session_start')"
        " FROM events WHERE project_id = %(project)s",
        project_id,
    )
    return int(events), int(sessions), int(starts)


def wait_and_summarize(
    config: Settings,
    project_id: str,
    accepted: int,
    timeout_s: float,
    on_progress: Callable[[int, int, int], None],
) -> Summary:
    """Wait until every accepted event is in ClickHouse with its session_start.

    `on_progress(events, sessions, session_starts)` is called after each look.
    """
    client = _client(config)
    deadline = time.monotonic() + timeout_s
    settled = False
    while time.monotonic() < deadline:
        events, sessions, starts = stored_counts(client, project_id)
        on_progress(events, sessions, starts)
        if events >= accepted and starts >= sessions:
            settled = True
            break
        time.sleep(1.0)
    return summarize(client, config.clickhouse_database, project_id, settled)


def summarize(client: Client, database: str, project_id: str, settled: bool) -> Summary:
    events, sessions, starts = stored_counts(client, project_id)
    ((version,),) = client.execute("SELECT version()")
    dialect = Dialect.for_version(str(version))
    by_name = client.execute(queries.events_per_name(dialect, database, project_id))
    ends = dict(by_name).get("session_end", 0)
    by_kind = client.execute(queries.historical_vs_live_sessions(dialect, database, project_id))
    by_day = _rows(
        client,
        "SELECT toString(toDate(created_at)) AS day, uniqExact(session_id) FROM events"
        " WHERE project_id = %(project)s AND name = 'session_start' GROUP BY day ORDER BY day",
        project_id,
    )
    devices = _rows(
        client,
        "SELECT device_id, uniqExact(session_id) AS s, countIf(name NOT IN"
        " ('session_start', 'session_end')) AS e FROM events WHERE project_id = %(project)s"
        " GROUP BY device_id ORDER BY s DESC, device_id LIMIT 10",
        project_id,
    )
    ((device_count,),) = _rows(
        client,
        "SELECT uniqExact(device_id) FROM events WHERE project_id = %(project)s",
        project_id,
    )
    return Summary(
        project_id=project_id,
        settled=settled,
        stored_events=events,
        events_by_name=[(str(n), int(c)) for n, c in by_name],
        sessions=sessions,
        session_starts=starts,
        session_ends=int(ends),
        sessions_by_kind={str(k): int(c) for k, c in by_kind},
        sessions_by_day=[(str(d), int(c)) for d, c in by_day],
        busiest_devices=[(str(d), int(s), int(e)) for d, s, e in devices],
        devices=int(device_count),
    )


def render(report: Summary, config: Settings, console: Console) -> None:
    console.rule("[bold]What trackflow stored")
    _render_replays(report, console)

    console.print(
        f"\nClickHouse ({config.clickhouse_host}:{config.clickhouse_port}, database "
        f"[bold]{config.clickhouse_database}[/]) holds {report.stored_events:,} events of "
        f"{report.devices:,} devices in {report.sessions:,} sessions."
    )
    check = "[green]equal[/]" if report.session_starts == report.sessions else "[red]NOT equal[/]"
    console.print(
        f"session_start events: {report.session_starts:,},"
        f" sessions: {report.sessions:,} ({check});"
        f" session_end so far: {report.session_ends:,}"
    )
    kinds = ", ".join(f"{kind}: {n:,}" for kind, n in sorted(report.sessions_by_kind.items()))
    console.print(f"sessions by kind: {kinds or 'none recorded yet'}")
    if not report.settled:
        console.print("[red]ClickHouse did not catch up before the timeout; see the logs.[/]")

    _render_sessions(report, console)
    _render_queries(report, config, console)


def _render_replays(report: Summary, console: Console) -> None:
    table = Table(title="Sent through the ingress")
    for column in ("replay", "sent", "accepted", "rejected", "reasons"):
        table.add_column(
            column, justify="right" if column in ("sent", "accepted", "rejected") else "left"
        )
    for name, result in report.replays.items():
        reasons = "\n".join(
            f"{count:,} x {reason}: {error}"
            for (reason, error), count in result.rejected.most_common()
        )
        table.add_row(
            name,
            f"{result.sent:,}",
            f"{result.accepted:,}",
            f"{sum(result.rejected.values()):,}",
            reasons or "-",
        )
    console.print(table)


def _render_sessions(report: Summary, console: Console) -> None:
    per_day = Table(title="Sessions per day (by session start)")
    per_day.add_column("day")
    per_day.add_column("sessions", justify="right")
    for day, count in report.sessions_by_day:
        per_day.add_row(day, f"{count:,}")
    console.print(per_day)

    shown = len(report.busiest_devices)
    title = "Sessions per device" + (
        f" ({shown} of {report.devices:,})" if shown < report.devices else ""
    )
    per_device = Table(title=title)
    per_device.add_column("device")
    per_device.add_column("sessions", justify="right")
    per_device.add_column("events", justify="right")
    for device, sessions, events in report.busiest_devices:
        per_device.add_row(device, f"{sessions:,}", f"{events:,}")
    console.print(per_device)


def _render_queries(report: Summary, config: Settings, console: Console) -> None:
    http = f"http://{config.clickhouse_host}:{os.environ.get('CLICKHOUSE_HTTP_PORT', '8123')}"
    console.print(f"\n[bold]Query the tables yourself[/] (ClickHouse HTTP at {http}):")
    project = report.project_id
    for sql in (
        f"SELECT name, count() FROM events WHERE project_id = '{project}' GROUP BY name",
        f"SELECT id, argMax(duration, version) AS ms, argMax(event_count, version) AS events"
        f" FROM sessions WHERE project_id = '{project}' GROUP BY id LIMIT 10",
        f"SELECT device_id, toDate(created_at) AS day, uniqExact(session_id) FROM events"
        f" WHERE project_id = '{project}' GROUP BY device_id, day ORDER BY day LIMIT 20",
    ):
        console.print(
            f"  curl -s '{http}/?database={config.clickhouse_database}' --data-binary \"{sql}\"",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    console.print(
        "Tables: events, sessions, profiles, groups, session_replay_chunks;"
        " see schemas/README.md for their columns.",
        soft_wrap=True,
    )
