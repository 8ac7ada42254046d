"""Decoding raw events and building the records the stream processor emits.

Every emitted record carries a deterministic id, so a record emitted twice
after a crash can be dropped downstream: ordinary events keep the raw event's
id, `session_start`/`session_end` take a UUID derived from
(project_id, session_id, name). The formats are in `schemas/kafka/`.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

RawEvent = dict[str, Any]
Record = dict[str, Any]

EVENT_TYPES = frozenset(
    {"track", "identify", "increment", "decrement", "group", "assign_group", "replay"}
)
PROFILE_TYPES = frozenset({"identify", "increment", "decrement", "assign_group"})

# Namespace of the UUIDs of emitted session_start/session_end events; changing
# it changes every derived id, so it is fixed forever.
_SESSION_EVENT_NAMESPACE = uuid.UUID("5b0f7d2e-3c1a-4f7e-9d2b-6a8c1e4f0b37")

SESSION_START_OFFSET_MS = -100
SESSION_END_OFFSET_MS = 1_000

# Fields of an event copied onto the session_start/session_end made from it.
SNAPSHOT_FIELDS = (
    "profile_id",
    "path",
    "url_origin",
    "query",
    "hash",
    "referrer",
    "ip",
    "user_agent",
    "origin",
    "sdk_name",
    "sdk_version",
    "ua_overrides",
    "groups",
    "received_at_ms",
)

# Fields of a raw track event carried onto the sessionized event unchanged.
EVENT_FIELDS = (
    "project_id",
    "device_id",
    "profile_id",
    "name",
    "event_time_ms",
    "received_at_ms",
    "properties",
    "path",
    "url_origin",
    "query",
    "hash",
    "referrer",
    "revenue",
    "groups",
    "ip",
    "user_agent",
    "origin",
    "sdk_name",
    "sdk_version",
    "ua_overrides",
)

_REQUIRED_STR = ("id", "type", "project_id", "device_id")
_REQUIRED_INT = ("event_time_ms", "received_at_ms", "session_timeout_ms", "window_ms")


class RecordError(ValueError):
    """A raw record that cannot be decoded or does not follow its schema."""


def decode_raw(value: bytes | None) -> RawEvent:
    """Parse one raw event and check the fields the stream processor relies on."""
    if value is None:
        raise RecordError("empty value")
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise RecordError("not a JSON object")
    if raw.get("v") != 1:
        raise RecordError(f"unsupported format version {raw.get('v')!r}")
    for name in _REQUIRED_STR:
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise RecordError(f"field {name} must be a non-empty string")
    for name in _REQUIRED_INT:
        if not isinstance(raw.get(name), int) or isinstance(raw[name], bool):
            raise RecordError(f"field {name} must be an integer")
    if raw["type"] not in EVENT_TYPES:
        raise RecordError(f"unknown event type {raw['type']!r}")
    if raw["session_timeout_ms"] <= 0 or raw["window_ms"] <= 0:
        raise RecordError("session_timeout_ms and window_ms must be positive")
    _check_type_fields(raw)
    return raw


def _check_type_fields(raw: RawEvent) -> None:
    kind = raw["type"]
    if kind == "track" and not isinstance(raw.get("name"), str):
        raise RecordError("track event without a name")
    if kind in PROFILE_TYPES and not isinstance(raw.get("profile_id"), str):
        raise RecordError(f"{kind} event without a profile_id")
    if kind in ("increment", "decrement") and not isinstance(raw.get("property"), str):
        raise RecordError(f"{kind} event without a property")
    if kind == "group":
        group = raw.get("group")
        if not isinstance(group, dict) or not isinstance(group.get("id"), str):
            raise RecordError("group event without group.id")
    if kind == "assign_group" and not isinstance(raw.get("group_ids"), list):
        raise RecordError("assign_group event without group_ids")
    if kind == "replay" and not isinstance(raw.get("replay"), dict):
        raise RecordError("replay event without replay")


def session_event_id(project_id: str, session_id: str, name: str) -> str:
    return str(uuid.uuid5(_SESSION_EVENT_NAMESPACE, f"{project_id}:{session_id}:{name}"))


def snapshot(raw: RawEvent) -> Record:
    """The fields of an event kept in state for the session_start/end made from it."""
    return {name: raw.get(name) for name in SNAPSHOT_FIELDS}


def sessionized_event(raw: RawEvent, session_id: str) -> Record:
    record: Record = {"v": 1, "id": raw["id"], "session_id": session_id}
    for name in EVENT_FIELDS:
        value = raw.get(name)
        if value is not None:
            record[name] = value
    return record


def session_event(
    *,
    name: str,
    project_id: str,
    device_id: str,
    session_id: str,
    event_time_ms: int,
    snap: Record,
    path: str | None,
) -> Record:
    """A session_start or session_end built from a snapshot of a session's event."""
    record: Record = {
        "v": 1,
        "id": session_event_id(project_id, session_id, name),
        "project_id": project_id,
        "device_id": device_id,
        "session_id": session_id,
        "name": name,
        "event_time_ms": event_time_ms,
        "properties": {},
    }
    for field_name in SNAPSHOT_FIELDS:
        value = snap.get(field_name)
        if value is not None:
            record[field_name] = value
    record["path"] = path
    record.setdefault("received_at_ms", event_time_ms)
    return record


def replay_chunk(raw: RawEvent, session_id: str) -> Record:
    replay = raw["replay"]
    return {
        "v": 1,
        "id": raw["id"],
        "project_id": raw["project_id"],
        "device_id": raw["device_id"],
        "session_id": session_id,
        "chunk_index": replay.get("chunk_index", 0),
        "events_count": replay.get("events_count", 0),
        "is_full_snapshot": bool(replay.get("is_full_snapshot", False)),
        "started_at_ms": replay.get("started_at_ms", raw["event_time_ms"]),
        "ended_at_ms": replay.get("ended_at_ms", raw["event_time_ms"]),
        "payload": replay.get("payload", ""),
    }


def dead_letter(
    *, source_topic: str, partition: int, offset: int, error: str, value: bytes | None, now_ms: int
) -> Record:
    text = (value or b"")[:1_000_000].decode("utf-8", errors="replace")
    return {
        "v": 1,
        "id": f"streams:{source_topic}:{partition}:{offset}",
        "stage": "streams",
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "error": error[:2000],
        "value": text,
        "failed_at_ms": now_ms,
    }
