"""Records into rows, the guard and the renderings, without a server."""

from __future__ import annotations

import random

import pytest

from schemas.clickhouse.render import LEGACY, MODERN, Dialect
from schemas.clickhouse.tables import EVENTS
from sink.dedup import PartitionGuard
from sink.properties import flatten
from sink.rows import RowError, event_row, replay_chunk_row, session_row
from sink.useragent import user_agent_fields
from tests.sink.records import USER_AGENTS, event

IPHONE = USER_AGENTS[2]


def test_flatten_dots_nested_keys_and_drops_null_and_empty() -> None:
    props = {"a": {"b": 1, "c": None, "d": {"e": True}}, "f": ["x", "", 2.0], "g": "", "h": 1.5}
    assert flatten(props) == {"a.b": "1", "a.d.e": "true", "f.0": "x", "f.2": "2", "h": "1.5"}
    assert flatten(None) == {}
    assert flatten("not an object") == {}


def test_user_agent_is_parsed_and_overrides_win() -> None:
    parsed = user_agent_fields(IPHONE, {})
    assert (parsed.os, parsed.os_version, parsed.browser, parsed.device, parsed.brand) == (
        "iOS", "17.1", "Mobile Safari", "mobile", "Apple",
    )  # fmt: skip
    assert user_agent_fields(USER_AGENTS[0], None).device == "desktop"
    assert user_agent_fields(USER_AGENTS[5], None).device == "tablet"
    overridden = user_agent_fields(IPHONE, {"os": "CustomOS", "model": "X1", "brand": ""})
    assert (overridden.os, overridden.model, overridden.brand) == ("CustomOS", "X1", "Apple")
    assert user_agent_fields(None, {"device": "tv"}).device == "tv"


def test_event_row_follows_the_events_columns() -> None:
    record = event("p", "dev-1", "s-1", "purchase", 1_764_800_000_123, random.Random(1))
    record.update(user_agent=IPHONE, query={"utm_source": "x"}, hash="top", revenue=12.5)
    row, key = event_row(record)
    values = dict(zip(EVENTS.column_names, (*row, 0, 0), strict=True))
    assert key == record["id"] == values["id"]
    assert values["created_at"] == 1_764_800_000_123
    assert values["revenue"] == 12.5
    assert values["os"] == "iOS"
    assert values["origin"] == "https://example.com"
    props = values["properties"]
    assert props["__query.utm_source"] == "x" and props["__hash"] == "top"
    assert "empty" not in props and "nothing" not in props and props["button.position"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "id is missing"),
        ({"event_time_ms": "yesterday"}, "event_time_ms must be an integer"),
        ({"event_time_ms": -1}, "outside the storable range"),
        ({"groups": "acme"}, "groups must be an array"),
        ({"revenue": "lots"}, "revenue must be a number"),
    ],
)
def test_event_row_refuses_what_cannot_be_stored(change: dict[str, object], reason: str) -> None:
    record = {**event("p", "d", "s", "x", 1_764_800_000_000, random.Random(1)), **change}
    with pytest.raises(RowError, match=reason):
        event_row(record)


def test_session_and_replay_keys_carry_the_version() -> None:
    session = {"v": 1, "id": "s", "project_id": "p", "device_id": "d", "started_at_ms": 1_000,
               "last_event_ms": 4_000, "version": 3}  # fmt: skip
    row, key = session_row(session)
    assert key == "s:3" and row[7] == 3_000
    chunk = {"v": 1, "id": "c", "project_id": "p", "session_id": "s", "chunk_index": 2,
             "payload": "[]"}  # fmt: skip
    assert replay_chunk_row(chunk)[1] == "c"


def test_dialect_follows_the_server_version() -> None:
    assert Dialect.for_version("18.16.1") == LEGACY
    assert Dialect.for_version("24.8.4.13") == MODERN


def test_legacy_rendering_keeps_milliseconds_and_maps() -> None:
    ddl = LEGACY.create_table(EVENTS, "db")
    assert "created_at DateTime,\n    created_at_ms UInt16" in ddl
    assert "properties_keys Array(String)" in ddl and "LowCardinality" not in ddl
    assert "ORDER BY (project_id, toDate(created_at), name, created_at, created_at_ms)" in ddl
    row = (*event_row(event("p", "d", "s", "x", 1_764_800_000_123, random.Random(1)))[0], 1, 2)
    columns = dict(zip(LEGACY.physical_names(EVENTS), LEGACY.physical_columns(EVENTS, [row]),
                       strict=True))  # fmt: skip
    assert columns["created_at"] == [1_764_800_000] and columns["created_at_ms"] == [123]
    assert columns["properties_keys"][0][0] == "plan"


def test_guard_forgets_keys_beyond_its_window() -> None:
    guard = PartitionGuard(window_offsets=10)
    for offset in range(30):
        guard.add(offset, f"k{offset}")
    assert "k29" in guard and "k19" in guard and "k18" not in guard
