"""One validated item turned into its raw record, key and answer.

Contract: `build` either returns an `Accepted` (the record to produce, its
key, and the device and session ids to answer with) or raises `Invalid`.
Both routes call it, so an event sent in a batch is stored exactly as if it
had been sent alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from ingress import validation
from ingress.deviceid import DeviceIds
from ingress.registry import Project
from ingress.validation import Invalid
from trackflow.sessionid import session_id
from trackflow.topics import record_key

RECORD_VERSION = 1
# When a client sends no user agent, OpenPanel derives the device id from this.
UNKNOWN_USER_AGENT = "unknown/1.0"


@dataclass(frozen=True)
class RequestContext:
    """What every event of one request shares."""

    project: Project
    received_at_ms: int
    ip: str
    user_agent: str | None
    origin: str | None
    sdk_name: str | None
    sdk_version: str | None
    future_tolerance_ms: int


@dataclass(frozen=True)
class Accepted:
    key: bytes
    value: bytes
    device_id: str
    session_id: str


def _window_text(window_ms: int) -> str:
    days, rest = divmod(window_ms, 86_400_000)
    if rest == 0:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{window_ms / 3_600_000:g} hours"


MIN_EVENT_TIME_MS = 1_000


def _event_time(magic: dict[str, Any], ctx: RequestContext) -> tuple[int, bool]:
    """(event time, whether the client's time was replaced by the receive time)."""
    raw = magic.get("__timestamp")
    if raw is None:
        return ctx.received_at_ms, False
    parsed = validation.parse_time_ms(raw)
    if parsed is None or parsed > ctx.received_at_ms + ctx.future_tolerance_ms:
        return ctx.received_at_ms, True
    if parsed < MIN_EVENT_TIME_MS:
        # session_start is stamped 100 ms before a session's first event, and
        # ClickHouse stores no time before the epoch
        raise Invalid(
            "payload.properties.__timestamp",
            "event time is before 1970-01-01T00:00:01Z, the earliest that can be stored",
        )
    if parsed < ctx.received_at_ms - ctx.project.window_ms:
        raise Invalid(
            "payload.properties.__timestamp",
            "event is older than the project's historical window of "
            f"{_window_text(ctx.project.window_ms)}",
        )
    return parsed, False


def _client_device_id(magic: dict[str, Any]) -> str | None:
    raw = magic.get("__deviceId")
    if not isinstance(raw, str):
        return None
    trimmed = raw.strip()
    if not trimmed or len(trimmed) > validation.MAX_DEVICE_ID_CHARS:
        return None
    return trimmed


def _fields(kind: str, payload: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Fills the type's own fields; returns the track event's magic properties."""
    if kind == "track":
        return validation.track(payload, record)
    if kind == "identify":
        fields = validation.identify(payload)
    elif kind in ("increment", "decrement"):
        fields = validation.counter(payload)
    elif kind == "group":
        fields = validation.group(payload)
    elif kind == "assign_group":
        fields = validation.assign_group(payload)
    else:
        fields = validation.replay(payload)
    record.update(fields)
    return {}


def build(item: Any, ctx: RequestContext, device_ids: DeviceIds) -> Accepted:
    kind, payload = validation.envelope(item)
    project = ctx.project
    record: dict[str, Any] = {"v": RECORD_VERSION, "type": kind}
    magic = _fields(kind, payload, record)
    event_time_ms, clamped = _event_time(magic, ctx)

    ip = magic.get("__ip")
    if not isinstance(ip, str) or not ip:
        ip = ctx.ip
    device_id = _client_device_id(magic) or device_ids.device_id(
        ctx.user_agent or UNKNOWN_USER_AGENT,
        ip,
        project.id,
        ctx.received_at_ms,
        project.session_timeout_ms,
    )
    record.update(
        id=str(uuid.uuid4()),
        project_id=project.id,
        device_id=device_id,
        event_time_ms=event_time_ms,
        received_at_ms=ctx.received_at_ms,
        session_timeout_ms=project.session_timeout_ms,
        window_ms=project.window_ms,
        timestamp_clamped=clamped,
        ip=ip,
        user_agent=ctx.user_agent,
        origin=ctx.origin,
        sdk_name=ctx.sdk_name,
        sdk_version=ctx.sdk_version,
    )
    try:
        value = orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise Invalid("payload", f"cannot be stored: {exc}") from None
    return Accepted(
        key=record_key(project.id, device_id).encode(),
        value=value,
        device_id=device_id,
        session_id=session_id(project.id, device_id, event_time_ms, project.session_timeout_ms),
    )
