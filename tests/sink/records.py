"""Records as the stream processor writes them (schemas/kafka/*.v1.json), for tests and bench."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from trackflow.topics import Topics

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
)
PATHS = ("/", "/pricing", "/docs/getting-started", "/blog/why-clickhouse", "/signup", "/app")
NAMES = ("screen_view", "screen_view", "screen_view", "button_click", "signup", "purchase")


def event(
    project_id: str,
    device_id: str,
    session_id: str,
    name: str,
    event_time_ms: int,
    rng: random.Random,
    event_id: str | None = None,
) -> dict[str, Any]:
    path = rng.choice(PATHS)
    record: dict[str, Any] = {
        "v": 1,
        "id": event_id or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "project_id": project_id,
        "device_id": device_id,
        "profile_id": f"user-{device_id[-4:]}" if rng.random() < 0.3 else None,
        "session_id": session_id,
        "name": name,
        "event_time_ms": event_time_ms,
        "received_at_ms": event_time_ms + rng.randint(5, 400),
        "properties": {
            "plan": rng.choice(("free", "pro", "team")),
            "button": {"label": "Start trial", "position": rng.randint(1, 5)},
            "ab": [rng.choice(("a", "b")), None],
            "empty": "",
            "nothing": None,
            "logged_in": rng.random() < 0.5,
        },
        "path": path,
        "url_origin": "https://example.com",
        "query": {"utm_source": "newsletter"} if rng.random() < 0.2 else None,
        "hash": None,
        "referrer": rng.choice(("", "https://www.google.com/", "https://news.ycombinator.com/")),
        "revenue": 49.0 if name == "purchase" else None,
        "groups": ["acme"] if rng.random() < 0.1 else [],
        "ip": "203.0.113.7",
        "user_agent": rng.choice(USER_AGENTS),
        "origin": "https://example.com",
        "sdk_name": "web",
        "sdk_version": "1.0.3",
        "ua_overrides": {},
    }
    return record


@dataclass
class Expected:
    """What the records of a workload must become in ClickHouse."""

    event_ids: set[str] = field(default_factory=set)
    session_ids: set[str] = field(default_factory=set)
    session_versions: set[tuple[str, int]] = field(default_factory=set)
    live_sessions: int = 0


def sessions_workload(
    topics: Topics,
    project_id: str,
    n_events: int,
    seed: int = 1,
    reemit_every: int = 0,
    start_ms: int = 1_764_800_000_000,
) -> tuple[list[tuple[str, str, dict[str, Any]]], Expected]:
    """(topic, key, record) for sessions of 2-20 events each, with their
    session_start/session_end events and session versions; every `reemit_every`-th
    record is written again a little later, as a restarted stream worker does."""
    rng = random.Random(seed)
    out: list[tuple[str, str, dict[str, Any]]] = []
    expected = Expected()
    produced = 0
    n = 0
    while produced < n_events:
        n += 1
        device_id = f"dev-{n % 997:04d}"
        session_id = f"sess-{seed}-{n}"
        key = f"{project_id}:{device_id}"
        skey = f"{project_id}:{session_id}"
        t = start_ms + n * 60_000
        length = rng.randint(2, 20)
        kind = "historical" if n % 5 == 0 else "live"
        expected.live_sessions += kind == "live"
        events = [event(project_id, device_id, session_id, "session_start", t - 100, rng)]
        events += [
            event(project_id, device_id, session_id, rng.choice(NAMES), t + i * 1_000, rng)
            for i in range(length)
        ]
        end = event(project_id, device_id, session_id, "session_end", t + length * 1_000, rng)
        end.update(duration_ms=(length - 1) * 1_000, is_bounce=length < 2)
        events.append(end)
        for version, ev in enumerate(events, start=1):
            out.append((topics.events, key, ev))
            expected.event_ids.add(ev["id"])
            if version % 4 == 0 or ev is end:
                record = {
                    "v": 1, "id": session_id, "project_id": project_id, "device_id": device_id,
                    "profile_id": None, "kind": kind, "started_at_ms": t,
                    "last_event_ms": ev["event_time_ms"], "event_count": version,
                    "screen_view_count": version // 2, "entry_path": "/", "exit_path": "/app",
                    "entry_origin": "https://example.com", "referrer": "", "is_bounce": False,
                    "ended": ev is end, "user_agent": USER_AGENTS[0], "version": version,
                }  # fmt: skip
                out.append((topics.sessions, skey, record))
                expected.session_versions.add((session_id, version))
        expected.session_ids.add(session_id)
        produced += len(events)
    if reemit_every:
        for i in range(reemit_every, len(out), reemit_every):
            out.insert(min(len(out), i + 50), out[i])
    return out, expected


def misc_records(topics: Topics, project_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """One profile in two versions, one group, two replay chunks."""
    for version in (1, 2):
        yield topics.profiles, f"{project_id}:user-1", {
            "v": 1, "project_id": project_id, "profile_id": "user-1",
            "first_name": "Ada" if version == 2 else None, "last_name": "Lovelace",
            "email": "ada@example.com", "avatar": None,
            "properties": {"plan": "pro", "logins": version, "address": {"city": "London"}},
            "group_ids": ["acme"], "created_at_ms": 1_764_800_000_000,
            "updated_at_ms": 1_764_800_000_000 + version, "source_event_id": f"ev-{version}",
            "version": version,
        }  # fmt: skip
    yield topics.groups, f"{project_id}:acme", {
        "v": 1, "project_id": project_id, "group_id": "acme", "type": "company",
        "name": "Acme Inc", "properties": {"seats": 12}, "created_at_ms": 1_764_800_000_000,
        "updated_at_ms": 1_764_800_000_000, "source_event_id": "ev-g", "version": 1,
    }  # fmt: skip
    for index in (0, 1):
        yield topics.replay_chunks, f"{project_id}:sess-r", {
            "v": 1, "id": f"chunk-{index}", "project_id": project_id, "device_id": "dev-r",
            "session_id": "sess-r", "chunk_index": index, "events_count": 3,
            "is_full_snapshot": index == 0, "started_at_ms": 1_764_800_000_000 + index,
            "ended_at_ms": 1_764_800_001_000 + index, "payload": '[{"type":2}]',
        }  # fmt: skip
