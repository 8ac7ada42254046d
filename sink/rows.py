"""Kafka records (schemas/kafka/*.v1.json) into logical ClickHouse rows.

A builder takes the decoded record and returns the row's values in the
order of the table's columns (schemas/clickhouse/tables.py), without the two
Kafka position columns the consumer appends, plus the row's dedup key. A
record that cannot become a row raises `RowError` with the reason; the
consumer sends it to the dead-letter topic.

Missing optional strings become '' (ClickHouse columns here are not
Nullable), missing numbers 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.clickhouse.tables import EVENTS, GROUPS, PROFILES, REPLAY_CHUNKS, SESSIONS, Table
from sink.properties import flatten
from sink.useragent import user_agent_fields
from trackflow.topics import Topics

# DateTime on the legacy server is a UInt32 of seconds; both renderings take this range.
MAX_TIME_MS = 4_294_967_295_000


class RowError(ValueError):
    """The record cannot become a row; the message says why."""


Row = tuple[Any, ...]
Builder = Callable[[dict[str, Any]], tuple[Row, str]]


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise RowError(f"{key} must be a string, got {type(value).__name__}")
    return str(value)


def _required_text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value.__class__ is not str or not value:
        raise RowError(f"{key} is missing or not a non-empty string")
    return value


def _int(record: dict[str, Any], key: str, required: bool = False) -> int:
    value = record.get(key)
    if value is None and not required:
        return 0
    if type(value) is not int:
        raise RowError(f"{key} must be an integer, got {value!r:.40}")
    return value


def _time_ms(record: dict[str, Any], key: str, required: bool = True) -> int:
    value = _int(record, key, required)
    if not 0 <= value < MAX_TIME_MS:
        raise RowError(f"{key}={value} is outside the storable range")
    return value


def _float(record: dict[str, Any], key: str) -> float:
    value = record.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{key} must be a number, got {value!r:.40}")
    return float(value)


def _strings(record: dict[str, Any], key: str) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError(f"{key} must be an array")
    return [str(v) for v in value if v is not None and v != ""]


def event_row(record: dict[str, Any]) -> tuple[Row, str]:
    event_id = _required_text(record, "id")
    name = _required_text(record, "name")
    properties = flatten(record.get("properties"))
    if record.get("query"):
        flatten(record["query"], "__query", properties)
    if record.get("hash"):
        properties["__hash"] = str(record["hash"])
    if record.get("is_bounce") is not None:
        properties["__bounce"] = "true" if record["is_bounce"] else "false"
    ua = user_agent_fields(record.get("user_agent"), record.get("ua_overrides"))
    row = (
        event_id,
        name,
        _text(record, "sdk_name"),
        _text(record, "sdk_version"),
        _required_text(record, "device_id"),
        _text(record, "profile_id"),
        _required_text(record, "project_id"),
        _required_text(record, "session_id"),
        _text(record, "path"),
        _text(record, "url_origin") or _text(record, "origin"),
        _text(record, "referrer"),
        _int(record, "duration_ms"),
        _float(record, "revenue"),
        properties,
        _strings(record, "groups"),
        *ua,
        _time_ms(record, "event_time_ms"),
        _time_ms(record, "received_at_ms"),
    )
    return row, event_id


def session_row(record: dict[str, Any]) -> tuple[Row, str]:
    session_id = _required_text(record, "id")
    version = _int(record, "version", required=True)
    started_ms = _time_ms(record, "started_at_ms")
    last_ms = _time_ms(record, "last_event_ms")
    ua = user_agent_fields(record.get("user_agent"), record.get("ua_overrides"))
    row = (
        session_id,
        _required_text(record, "project_id"),
        _required_text(record, "device_id"),
        _text(record, "profile_id"),
        _text(record, "kind"),
        started_ms,
        last_ms,
        _int(record, "duration_ms") if "duration_ms" in record else last_ms - started_ms,
        _int(record, "event_count"),
        _int(record, "screen_view_count"),
        _text(record, "entry_path"),
        _text(record, "exit_path"),
        _text(record, "entry_origin"),
        _text(record, "referrer"),
        bool(record.get("is_bounce")),
        bool(record.get("ended")),
        *ua,
        version,
    )
    return row, f"{session_id}:{version}"


def profile_row(record: dict[str, Any]) -> tuple[Row, str]:
    profile_id = _required_text(record, "profile_id")
    version = _int(record, "version", required=True)
    row = (
        profile_id,
        _required_text(record, "project_id"),
        _text(record, "first_name"),
        _text(record, "last_name"),
        _text(record, "email"),
        _text(record, "avatar"),
        flatten(record.get("properties")),
        _strings(record, "group_ids"),
        _time_ms(record, "created_at_ms", required=False),
        _time_ms(record, "updated_at_ms", required=False),
        _text(record, "source_event_id"),
        version,
    )
    return row, f"{profile_id}:{version}"


def group_row(record: dict[str, Any]) -> tuple[Row, str]:
    group_id = _required_text(record, "group_id")
    version = _int(record, "version", required=True)
    row = (
        group_id,
        _required_text(record, "project_id"),
        _text(record, "type"),
        _text(record, "name"),
        flatten(record.get("properties")),
        _time_ms(record, "created_at_ms", required=False),
        _time_ms(record, "updated_at_ms", required=False),
        _text(record, "source_event_id"),
        version,
    )
    return row, f"{group_id}:{version}"


def replay_chunk_row(record: dict[str, Any]) -> tuple[Row, str]:
    chunk_id = _required_text(record, "id")
    row = (
        chunk_id,
        _required_text(record, "project_id"),
        _text(record, "device_id"),
        _required_text(record, "session_id"),
        _int(record, "chunk_index", required=True),
        _int(record, "events_count"),
        bool(record.get("is_full_snapshot")),
        _time_ms(record, "started_at_ms", required=False),
        _time_ms(record, "ended_at_ms", required=False),
        _text(record, "payload"),
    )
    return row, chunk_id


@dataclass(frozen=True)
class Route:
    """Where one topic's records go and how they become rows."""

    topic: str
    table: Table
    build: Builder


def routes(topics: Topics) -> dict[str, Route]:
    """The sink's input topics, by name."""
    pairs = (
        (topics.events, EVENTS, event_row),
        (topics.sessions, SESSIONS, session_row),
        (topics.profiles, PROFILES, profile_row),
        (topics.groups, GROUPS, group_row),
        (topics.replay_chunks, REPLAY_CHUNKS, replay_chunk_row),
    )
    return {topic: Route(topic, table, build) for topic, table, build in pairs}
