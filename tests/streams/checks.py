"""Checks on the stream processor's outputs, the way the sink sees them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

SESSION_MARKS = ("session_start", "session_end")


def unique_by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats by id, as the sink does, after checking they are exact copies."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        first = seen.setdefault(record["id"], record)
        assert first == record, f"two different records share id {record['id']}"
    return list(seen.values())


@dataclass
class Session:
    events: list[dict[str, Any]] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)
    ends: list[dict[str, Any]] = field(default_factory=list)


def sessions_of(records: list[dict[str, Any]], project_id: str) -> dict[str, Session]:
    sessions: dict[str, Session] = defaultdict(Session)
    for record in unique_by_id([r for r in records if r["project_id"] == project_id]):
        session = sessions[record["session_id"]]
        if record["name"] == "session_start":
            session.starts.append(record)
        elif record["name"] == "session_end":
            session.ends.append(record)
        else:
            session.events.append(record)
    return dict(sessions)


def assert_well_formed(sessions: dict[str, Session]) -> None:
    """One session_start and one session_end per session, timed from its events."""
    for session_id, session in sessions.items():
        assert len(session.starts) == 1, f"{session_id}: {len(session.starts)} session_start"
        assert len(session.ends) <= 1, f"{session_id}: {len(session.ends)} session_end"
        times = [e["event_time_ms"] for e in session.events]
        if times:
            assert session.starts[0]["event_time_ms"] == min(times) - 100
        for end in session.ends:
            assert end["event_time_ms"] == max(times) + 1000
            assert end["duration_ms"] == max(times) - min(times)


def count_named(records: list[dict[str, Any]], project_id: str, name: str) -> int:
    return len(
        {r["id"] for r in records if r["project_id"] == project_id and r.get("name") == name}
    )
