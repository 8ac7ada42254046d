"""Small helpers for the end-to-end tests: projects, events, and what
ClickHouse holds for a project."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ingress.registry import Registry
from tests.pipeline.harness import RunningPipeline
from trackflow import sessionid

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
SESSION_NAMES = ("session_start", "session_end")


@dataclass(frozen=True)
class TestProject:
    id: str
    client_id: str
    secret: str
    session_timeout_ms: int
    window_ms: int

    def headers(self) -> dict[str, str]:
        return {"openpanel-client-id": self.client_id, "openpanel-client-secret": self.secret}

    def session_id(self, device_id: str, event_ms: int) -> str:
        return sessionid.session_id(self.id, device_id, event_ms, self.session_timeout_ms)


def new_project(
    running: RunningPipeline,
    session_timeout_ms: int = 30 * MINUTE_MS,
    window_ms: int = 5 * DAY_MS,
) -> TestProject:
    registry = Registry(running.settings.registry_path)
    project = registry.create_project(
        "e2e", session_timeout_ms=session_timeout_ms, window_ms=window_ms
    )
    client, secret = registry.create_client(project.id, name="e2e")
    assert secret is not None
    return TestProject(project.id, client.id, secret, session_timeout_ms, window_ms)


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def track(name: str, at_ms: int, device: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "payload": {
            "name": name,
            "properties": {"__timestamp": iso(at_ms), "__deviceId": device, **properties},
        },
    }


def send_batch(
    running: RunningPipeline, project: TestProject, events: list[dict[str, Any]]
) -> dict[str, Any]:
    response = httpx.post(
        f"{running.url}/track/batch",
        json={"events": events},
        headers=project.headers(),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def send_one(
    running: RunningPipeline, project: TestProject, event: dict[str, Any]
) -> httpx.Response:
    return httpx.post(f"{running.url}/track", json=event, headers=project.headers(), timeout=30)


@dataclass(frozen=True)
class EventRow:
    name: str
    device_id: str
    profile_id: str
    session_id: str
    time_ms: int
    id: str


def events_of(running: RunningPipeline, project: TestProject) -> list[EventRow]:
    time_sql = running.dialect.time_ms("created_at")
    rows = running.query(
        f"SELECT name, device_id, profile_id, session_id, {time_sql}, id FROM events"
        " WHERE project_id = %(p)s ORDER BY device_id, created_at",
        {"p": project.id},
    )
    return [
        EventRow(str(n), str(d), str(pr), str(s), int(t), str(i)) for n, d, pr, s, t, i in rows
    ]


@dataclass(frozen=True)
class SessionRow:
    id: str
    device_id: str
    kind: str
    started_ms: int
    ended_ms: int
    duration_ms: int
    event_count: int
    is_ended: int


def sessions_of(running: RunningPipeline, project: TestProject) -> dict[str, SessionRow]:
    start_sql = running.dialect.time_ms("created_at")
    end_sql = running.dialect.time_ms("ended_at")
    rows = running.query(
        "SELECT id, argMax(device_id, version), argMax(kind, version),"
        f" argMax({start_sql}, version), argMax({end_sql}, version), argMax(duration, version),"
        " argMax(event_count, version), argMax(is_ended, version)"
        " FROM sessions WHERE project_id = %(p)s GROUP BY id",
        {"p": project.id},
    )
    return {
        str(r[0]): SessionRow(str(r[0]), str(r[1]), str(r[2]), *(int(v) for v in r[3:]))
        for r in rows
    }


def wait_for_events(
    running: RunningPipeline,
    project: TestProject,
    expected: int,
    timeout_s: float = 120.0,
) -> list[EventRow]:
    """Wait until the project's non-session events number `expected` and every
    session among them has its session_start; return all its events."""
    rows: list[EventRow] = []

    def settled() -> bool:
        nonlocal rows
        rows = events_of(running, project)
        plain = [r for r in rows if r.name not in SESSION_NAMES]
        starts = {r.session_id for r in rows if r.name == "session_start"}
        return len(plain) >= expected and {r.session_id for r in plain} <= starts

    running.wait_for(settled, timeout_s, f"{expected} events of project {project.id}")
    return rows


def starts_per_session(rows: list[EventRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row.name == "session_start":
            counts[row.session_id] = counts.get(row.session_id, 0) + 1
    return counts


def current_profile(
    running: RunningPipeline, project: TestProject, profile_id: str
) -> dict[str, Any] | None:
    """The profile's newest version as a dict, read from either rendering."""
    keys_sql, values_sql = running.dialect.map_keys_values("properties")
    props = f"argMax({keys_sql}, version), argMax({values_sql}, version)"
    rows = running.query(
        f"SELECT argMax(first_name, version), argMax(email, version), {props},"
        " argMax(groups, version) FROM profiles WHERE project_id = %(p)s AND id = %(id)s"
        " GROUP BY id",
        {"p": project.id, "id": profile_id},
    )
    if not rows:
        return None
    first_name, email, keys, values, groups = rows[0]
    return {
        "first_name": first_name,
        "email": email,
        "properties": dict(zip(keys, values, strict=True)),
        "groups": sorted(groups),
    }


def current_group(
    running: RunningPipeline, project: TestProject, group_id: str
) -> tuple[str, str] | None:
    rows = running.query(
        "SELECT argMax(type, version), argMax(name, version) FROM groups"
        " WHERE project_id = %(p)s AND id = %(id)s GROUP BY id",
        {"p": project.id, "id": group_id},
    )
    return (str(rows[0][0]), str(rows[0][1])) if rows else None
