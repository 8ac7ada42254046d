"""Profile and group state: identify, increment, decrement, assign_group, group.

These events are routed by project and profile id (or group id) through a
repartition topic, so every change of one profile happens on one worker, one
after the other: an increment is a read-modify-write without races.

`increment`/`decrement` start from 0 when the profile or the property does not
exist yet (OpenPanel answers 404 synchronously instead), and also when the
property holds something that is not a number.

A raw event replayed after a crash can reach this stage twice (the raw stage
forwards before it records its progress), so each state keeps the ids of its
last `RECENT_IDS` changes and ignores an id it has already applied.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams import records

State = dict[str, Any]
RECENT_IDS = 256
PROFILE_FIELDS = ("first_name", "last_name", "email", "avatar")


def op_key(raw: records.RawEvent) -> str:
    """Key of the repartition topic: one profile or group, always one partition."""
    if raw["type"] == "group":
        return f"g:{raw['project_id']}:{raw['group']['id']}"
    return f"p:{raw['project_id']}:{raw['profile_id']}"


def loads(value: bytes | None) -> State | None:
    if value is None:
        return None
    state: State = orjson.loads(value)
    return state


def apply(state: State | None, raw: records.RawEvent) -> State | None:
    """The new state after one change, or None when the change was already applied."""
    if state is not None and raw["id"] in state["recent_ids"]:
        return None
    if raw["type"] == "group":
        state = state if state is not None else _new_group(raw)
        _apply_group(state, raw)
    else:
        state = state if state is not None else _new_profile(raw)
        _apply_profile(state, raw)
    state["recent_ids"] = [*state["recent_ids"][-(RECENT_IDS - 1) :], raw["id"]]
    state["source_event_id"] = raw["id"]
    state["updated_at_ms"] = max(state["updated_at_ms"], raw["event_time_ms"])
    state["version"] += 1
    return state


def output_record(state: State) -> records.Record:
    """The record of the profiles or groups topic for this state."""
    return {"v": 1} | {k: v for k, v in state.items() if k not in ("recent_ids", "kind")}


def is_group(state: State) -> bool:
    return bool(state["kind"] == "group")


def _new_profile(raw: records.RawEvent) -> State:
    return {
        "kind": "profile",
        "project_id": raw["project_id"],
        "profile_id": raw["profile_id"],
        "first_name": None,
        "last_name": None,
        "email": None,
        "avatar": None,
        "properties": {},
        "group_ids": [],
        "created_at_ms": raw["event_time_ms"],
        "updated_at_ms": raw["event_time_ms"],
        "version": 0,
        "recent_ids": [],
    }


def _new_group(raw: records.RawEvent) -> State:
    group = raw["group"]
    return {
        "kind": "group",
        "project_id": raw["project_id"],
        "group_id": group["id"],
        "type": group.get("type", ""),
        "name": group.get("name", ""),
        "properties": {},
        "created_at_ms": raw["event_time_ms"],
        "updated_at_ms": raw["event_time_ms"],
        "version": 0,
        "recent_ids": [],
    }


def _apply_profile(state: State, raw: records.RawEvent) -> None:
    kind = raw["type"]
    state["created_at_ms"] = min(state["created_at_ms"], raw["event_time_ms"])
    if kind == "identify":
        profile = raw.get("profile") or {}
        for name in PROFILE_FIELDS:
            if profile.get(name) is not None:
                state[name] = profile[name]
        state["properties"].update(raw.get("properties") or {})
    elif kind in ("increment", "decrement"):
        amount = raw.get("value", 1)
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            amount = 1
        current = state["properties"].get(raw["property"], 0)
        if not isinstance(current, int | float) or isinstance(current, bool):
            current = 0
        sign = 1 if kind == "increment" else -1
        state["properties"][raw["property"]] = current + sign * amount
    elif kind == "assign_group":
        for group_id in raw.get("group_ids") or []:
            if isinstance(group_id, str) and group_id not in state["group_ids"]:
                state["group_ids"].append(group_id)


def _apply_group(state: State, raw: records.RawEvent) -> None:
    group = raw["group"]
    state["type"] = group.get("type", state["type"])
    state["name"] = group.get("name", state["name"])
    state["properties"].update(raw.get("properties") or {})
    state["created_at_ms"] = min(state["created_at_ms"], raw["event_time_ms"])
