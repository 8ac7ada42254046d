"""Profile and group changes, without Kafka (`streams.profiles`)."""

from __future__ import annotations

from typing import Any

from streams import profiles
from tests.streams.kafka_io import MINUTE_MS, now_ms, raw_event


def op(kind: str, **fields: Any) -> dict[str, Any]:
    return raw_event("proj", "dev", now_ms(), timeout_ms=MINUTE_MS, kind=kind, **fields)


def apply_all(changes: list[dict[str, Any]]) -> profiles.State:
    state = None
    for change in changes:
        state = profiles.apply(state, change) or state
    assert state is not None
    return state


def test_increments_start_from_zero_and_sum() -> None:
    state = apply_all(
        [
            op("increment", profile_id="u1", property="visits", value=2),
            op("increment", profile_id="u1", property="visits", value=3),
            op("decrement", profile_id="u1", property="visits"),
            op("decrement", profile_id="u1", property="credits", value=4),
        ]
    )
    assert state["properties"] == {"visits": 4, "credits": -4}
    assert state["version"] == 4


def test_identify_merges_and_assign_group_adds() -> None:
    state = apply_all(
        [
            op("identify", profile_id="u1", profile={"email": "a@b.c"}, properties={"x": 1}),
            op("identify", profile_id="u1", profile={"first_name": "Ada"}, properties={"y": 2}),
            op("assign_group", profile_id="u1", group_ids=["g1", "g2"]),
            op("assign_group", profile_id="u1", group_ids=["g2", "g3"]),
        ]
    )
    assert state["email"] == "a@b.c" and state["first_name"] == "Ada"
    assert state["properties"] == {"x": 1, "y": 2}
    assert state["group_ids"] == ["g1", "g2", "g3"]
    record = profiles.output_record(state)
    assert "recent_ids" not in record and record["v"] == 1


def test_a_change_seen_twice_is_applied_once() -> None:
    change = op("increment", profile_id="u1", property="n", value=1)
    state = profiles.apply(None, change)
    assert state is not None
    assert profiles.apply(state, change) is None
    assert state["properties"] == {"n": 1}


def test_group_upsert() -> None:
    state = apply_all(
        [
            op("group", group={"id": "g1", "type": "company", "name": "A"}, properties={"a": 1}),
            op("group", group={"id": "g1", "type": "company", "name": "B"}, properties={"b": 2}),
        ]
    )
    assert profiles.is_group(state)
    assert (state["name"], state["properties"]) == ("B", {"a": 1, "b": 2})
