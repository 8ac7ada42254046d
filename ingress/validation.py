"""Per-type validation of one `{type, payload}` item, as OpenPanel validates it.

Hand-written rather than a schema library: this runs once per event on the
hot path, and plain type checks on the decoded JSON cost a few microseconds.
Every function returns the normalised fields of the raw record (see
schemas/kafka/events-raw.v1.json) or raises `Invalid` with a field path.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from email_validator import EmailNotValidError, validate_email

EVENT_TYPES = (
    "track",
    "identify",
    "increment",
    "decrement",
    "group",
    "assign_group",
    "alias",
    "replay",
)
RESERVED_NAMES = frozenset({"session_start", "session_end"})
MAX_NAME_CHARS = 80
MAX_REPLAY_PAYLOAD_CHARS = 2 * 1024 * 1024
MAX_DEVICE_ID_CHARS = 64
ALIAS_MESSAGE = "Alias is not supported"
UA_OVERRIDES = {
    "__os": "os",
    "__osVersion": "os_version",
    "__browser": "browser",
    "__browserVersion": "browser_version",
    "__device": "device",
    "__brand": "brand",
    "__model": "model",
}


class Invalid(Exception):
    """An item that fails validation; `str()` is `<field path>: <what is wrong>`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)


class Unsupported(Invalid):
    """A valid type the ingress does not take (alias)."""


def _string(value: Any, path: str, *, min_chars: int = 1) -> str:
    if not isinstance(value, str):
        raise Invalid(path, "must be a string")
    if len(value) < min_chars:
        raise Invalid(path, "must not be empty")
    return value


def _optional_string(payload: dict[str, Any], key: str, path: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    return _string(value, f"{path}.{key}", min_chars=0)


def _number(value: Any, path: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(path, "must be a number")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(path, "must be an object")
    return value


def _profile_id(value: Any, path: str) -> str:
    if isinstance(value, str):
        if not value:
            raise Invalid(path, "must not be empty")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(path, "must be a string or a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(path, "must be a finite number")
        if value.is_integer():
            return str(int(value))
    return str(value)


def _string_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise Invalid(path, "must be an array of strings")
    for index, item in enumerate(value):
        _string(item, f"{path}[{index}]")
    return value


def _datetime_ms(value: Any, path: str) -> int:
    if not isinstance(value, str):
        raise Invalid(path, "must be an ISO 8601 date-time string")
    parsed = parse_time_ms(value)
    if parsed is None:
        raise Invalid(path, "must be an ISO 8601 date-time string")
    return parsed


def parse_time_ms(value: Any) -> int | None:
    """A `__timestamp` in Unix ms: ISO 8601 text (UTC when no offset) or a number of ms."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and abs(value) < 1e15 else None
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def validate_name(value: Any) -> str:
    name = _string(value, "payload.name")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid("payload.name", f"must be at most {MAX_NAME_CHARS} characters")
    if "\n" in name or "\r" in name:
        raise Invalid("payload.name", "must not contain a newline")
    if name in RESERVED_NAMES:
        raise Invalid("payload.name", "session_start and session_end are reserved")
    return name


def _split_path(value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        raise Invalid("payload.properties.__path", "must be a string")
    path, origin, query, fragment = _split_url(value)
    return {
        "path": path,
        "url_origin": origin,
        "query": dict(query) if query else None,
        "hash": fragment,
    }


# Pages repeat across events: a small cache spares most urlsplit/parse_qsl work.
@functools.lru_cache(maxsize=4096)
def _split_url(
    value: str,
) -> tuple[str | None, str | None, tuple[tuple[str, str], ...], str | None]:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise Invalid("payload.properties.__path", "must be a URL or a path") from None
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    query = tuple(parse_qsl(parts.query)) if parts.query else ()
    return parts.path or None, origin, query, parts.fragment or None


def track(payload: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Fills `record` from a track payload; returns the magic properties it used."""
    record["name"] = validate_name(payload.get("name"))
    properties = payload.get("properties")
    magic: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    if properties is not None:
        for key, value in _object(properties, "payload.properties").items():
            if key.startswith("__"):
                magic[key] = value
            else:
                clean[key] = value
    record["properties"] = clean
    if payload.get("profileId") is not None:
        record["profile_id"] = _profile_id(payload["profileId"], "payload.profileId")
    groups = payload.get("groups")
    record["groups"] = [] if groups is None else _string_list(groups, "payload.groups")
    if magic:
        _track_magic(magic, record)
    return magic


def _track_magic(magic: dict[str, Any], record: dict[str, Any]) -> None:
    if "__path" in magic:
        record.update(_split_path(magic["__path"]))
    referrer = magic.get("__referrer")
    if referrer is not None:
        record["referrer"] = _string(referrer, "payload.properties.__referrer", min_chars=0)
    revenue = magic.get("__revenue")
    if revenue is not None:
        record["revenue"] = _number(revenue, "payload.properties.__revenue")
    overrides = {}
    for key, field in UA_OVERRIDES.items():
        value = magic.get(key)
        if isinstance(value, str) and value:
            overrides[field] = value
    if overrides:
        record["ua_overrides"] = overrides
    identity = magic.get("__identify")
    if identity is not None:
        _track_identity(identity, record)


def _track_identity(identity: Any, record: dict[str, Any]) -> None:
    fields = identify(
        _object(identity, "payload.properties.__identify"), "payload.properties.__identify"
    )
    record["profile_id"] = fields.pop("profile_id")
    # Only a profile id: it names the event's profile and identifies no one.
    if fields["profile"] or fields["properties"]:
        record["identify"] = fields


def identify(payload: dict[str, Any], path: str = "payload") -> dict[str, Any]:
    profile_id = payload.get("profileId")
    if profile_id is None:
        raise Invalid(f"{path}.profileId", "is required")
    email = _optional_string(payload, "email", path)
    if email is not None:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            raise Invalid(f"{path}.email", "must be a valid email address") from None
    avatar = _optional_string(payload, "avatar", path)
    if avatar is not None:
        parts = urlsplit(avatar)
        if not parts.scheme or not parts.netloc:
            raise Invalid(f"{path}.avatar", "must be a URL")
    profile = {
        "first_name": _optional_string(payload, "firstName", path),
        "last_name": _optional_string(payload, "lastName", path),
        "email": email,
        "avatar": avatar,
    }
    properties = payload.get("properties")
    return {
        "profile_id": _profile_id(profile_id, f"{path}.profileId"),
        "profile": {key: value for key, value in profile.items() if value is not None},
        "properties": {} if properties is None else _object(properties, f"{path}.properties"),
    }


def counter(payload: dict[str, Any]) -> dict[str, Any]:
    """increment and decrement."""
    if payload.get("profileId") is None:
        raise Invalid("payload.profileId", "is required")
    value = payload.get("value")
    if value is None:
        value = 1
    elif _number(value, "payload.value") <= 0:
        raise Invalid("payload.value", "must be positive")
    return {
        "profile_id": _profile_id(payload["profileId"], "payload.profileId"),
        "property": _string(payload.get("property"), "payload.property"),
        "value": value,
    }


def group(payload: dict[str, Any]) -> dict[str, Any]:
    properties = payload.get("properties")
    return {
        "group": {
            "id": _string(payload.get("id"), "payload.id"),
            "type": _string(payload.get("type"), "payload.type"),
            "name": _string(payload.get("name"), "payload.name"),
        },
        "properties": {} if properties is None else _object(properties, "payload.properties"),
    }


def assign_group(payload: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "group_ids": _string_list(payload.get("groupIds"), "payload.groupIds")
    }
    if payload.get("profileId") is not None:
        fields["profile_id"] = _profile_id(payload["profileId"], "payload.profileId")
    return fields


def replay(payload: dict[str, Any]) -> dict[str, Any]:
    chunk_index = payload.get("chunk_index")
    if isinstance(chunk_index, bool) or not isinstance(chunk_index, int):
        raise Invalid("payload.chunk_index", "must be an integer")
    if not 0 <= chunk_index <= 65535:
        raise Invalid("payload.chunk_index", "must be between 0 and 65535")
    events_count = payload.get("events_count")
    if isinstance(events_count, bool) or not isinstance(events_count, int):
        raise Invalid("payload.events_count", "must be an integer")
    if events_count < 1:
        raise Invalid("payload.events_count", "must be at least 1")
    if not isinstance(payload.get("is_full_snapshot"), bool):
        raise Invalid("payload.is_full_snapshot", "must be a boolean")
    body = _string(payload.get("payload"), "payload.payload", min_chars=0)
    if len(body) > MAX_REPLAY_PAYLOAD_CHARS:
        raise Invalid("payload.payload", "must be at most 2 MB")
    session_id = payload.get("sessionId")
    return {
        "replay": {
            "session_id": _string(session_id, "payload.sessionId") if session_id else None,
            "chunk_index": chunk_index,
            "events_count": events_count,
            "is_full_snapshot": payload["is_full_snapshot"],
            "started_at_ms": _datetime_ms(payload.get("started_at"), "payload.started_at"),
            "ended_at_ms": _datetime_ms(payload.get("ended_at"), "payload.ended_at"),
            "payload": body,
        }
    }


def envelope(item: Any) -> tuple[str, dict[str, Any]]:
    """The type and payload of one item, checked for shape only."""
    if not isinstance(item, dict):
        raise Invalid("", "event must be an object with type and payload")
    kind = item.get("type")
    if kind not in EVENT_TYPES:
        raise Invalid("type", f"must be one of {', '.join(EVENT_TYPES)}")
    if kind == "alias":
        raise Unsupported("", ALIAS_MESSAGE)
    return kind, _object(item.get("payload"), "payload")
