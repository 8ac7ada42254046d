"""Session rules of one device, without Kafka (`streams.sessionizer`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.sessionizer import DeviceState
from tests.streams.kafka_io import HOUR_MS, MINUTE_MS, raw_event
from trackflow import sessionid

T = 30 * MINUTE_MS
NOW = int(datetime(2026, 12, 4, 15, 0, tzinfo=UTC).timestamp() * 1000)


class Out:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []

    def __call__(self, kind: str, key: str, record: dict[str, Any]) -> None:
        (self.events if kind == "events" else self.sessions).append(record)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["name"] == name]

    def session_of(self, event_id: str) -> str:
        return next(e["session_id"] for e in self.events if e["id"] == event_id)


def run(events: list[dict[str, Any]], ticks_ms: tuple[int, ...] = ()) -> tuple[DeviceState, Out]:
    state = DeviceState.new("proj", "dev", 0)
    out = Out()
    for offset, event in enumerate(events):
        state.apply_track(event, offset, out)
    state.finish_batch(out)
    for tick_ms in ticks_ms:
        state.tick(tick_ms, out)
    return state, out


def ev(event_ms: int, received_ms: int = NOW, **fields: Any) -> dict[str, Any]:
    return raw_event("proj", "dev", event_ms, timeout_ms=T, received_at_ms=received_ms, **fields)


def at(hh: int, mm: int, ss: int) -> int:
    return int(datetime(2026, 12, 4, hh, mm, ss, tzinfo=UTC).timestamp() * 1000)


def test_bucket_boundary_grace_keeps_a_burst_together() -> None:
    a, b, c = ev(at(10, 29, 58)), ev(at(10, 30, 3)), ev(at(10, 30, 6))
    _, out = run([a, b, c], ticks_ms=(NOW + T,))

    assert out.session_of(a["id"]) == out.session_of(b["id"])
    assert out.session_of(c["id"]) != out.session_of(a["id"])
    assert out.session_of(a["id"]) == sessionid.session_id("proj", "dev", a["event_time_ms"], T)
    assert len(out.named("session_start")) == 2


def test_historical_session_start_waits_for_the_end_and_copies_the_first_event() -> None:
    events = [ev(NOW - 3 * HOUR_MS + MINUTE_MS + i * 10 * MINUTE_MS) for i in range(3)]
    _, before = run(list(reversed(events)))
    assert before.named("session_start") == []

    _, out = run(list(reversed(events)), ticks_ms=(NOW + T,))
    (start,) = out.named("session_start")
    (end,) = out.named("session_end")
    first, last = events[0], events[-1]
    assert start["event_time_ms"] == first["event_time_ms"] - 100
    assert start["path"] == first["path"]
    assert end["event_time_ms"] == last["event_time_ms"] + 1000
    assert end["duration_ms"] == last["event_time_ms"] - first["event_time_ms"]
    assert end["is_bounce"] is False


def test_reverse_order_gives_the_same_sessions_and_starts() -> None:
    events = [ev(NOW - 5 * HOUR_MS + i * 7 * MINUTE_MS) for i in range(30)]
    _, forward = run(events, ticks_ms=(NOW + T,))
    _, backward = run(list(reversed(events)), ticks_ms=(NOW + T,))

    def summary(out: Out) -> list[tuple[str, int, int | None]]:
        marks = out.named("session_start") + out.named("session_end")
        return sorted((e["session_id"], e["event_time_ms"], e.get("duration_ms")) for e in marks)

    assert summary(forward) == summary(backward)
    assert {e["id"]: e["session_id"] for e in forward.events if e["name"] == "screen_view"} == {
        e["id"]: e["session_id"] for e in backward.events if e["name"] == "screen_view"
    }


def test_live_session_extends_and_ends_after_inactivity() -> None:
    events = [
        ev(NOW - 10 * MINUTE_MS + i * MINUTE_MS, NOW - 10 * MINUTE_MS + i * MINUTE_MS)
        for i in range(11)
    ]
    state, out = run(events)
    assert len({e["session_id"] for e in out.events}) == 1
    assert len(out.named("session_start")) == 1
    live_id = state.live_id

    state.tick(NOW + T - 1, out)
    assert out.named("session_end") == []
    state.tick(NOW + T, out)
    (end,) = out.named("session_end")
    assert end["session_id"] == live_id
    assert end["duration_ms"] == 10 * MINUTE_MS
    assert state.live_id is None


def test_backlog_never_touches_the_live_session() -> None:
    live = ev(NOW - MINUTE_MS, NOW - MINUTE_MS)
    state, out = run([live])
    live_id = state.live_id
    live_record = dict(state.sessions[live_id])  # type: ignore[index]

    backlog = [ev(NOW - 3 * HOUR_MS + i * 5 * MINUTE_MS) for i in range(12)]
    for offset, event in enumerate(backlog, start=1):
        state.apply_track(event, offset, out)
    state.finish_batch(out)

    assert state.live_id == live_id
    assert state.sessions[live_id]["last_ms"] == live_record["last_ms"]
    assert state.sessions[live_id]["started_at_ms"] == live_record["started_at_ms"]
    assert all(out.session_of(e["id"]) != live_id for e in backlog)
    # The live session ends `timeout` after its own last event, not the backlog's arrival.
    state.tick(live["event_time_ms"] + T, out)
    assert [e["session_id"] for e in out.named("session_end")] == [live_id]


def test_a_later_event_closes_the_live_session_and_starts_the_next() -> None:
    first = ev(NOW - 20 * MINUTE_MS, NOW - 20 * MINUTE_MS)
    state, out = run([first])
    second = ev(NOW + 15 * MINUTE_MS, NOW + 15 * MINUTE_MS)
    state.apply_track(second, 1, out)
    state.finish_batch(out)

    assert [e["session_id"] for e in out.named("session_end")] == [out.session_of(first["id"])]
    assert out.session_of(second["id"]) != out.session_of(first["id"])
    assert len(out.named("session_start")) == 2


def test_out_of_order_live_event_widens_the_start() -> None:
    late, early = ev(NOW - MINUTE_MS, NOW), ev(NOW - 5 * MINUTE_MS, NOW)
    state, out = run([late, early])
    (start,) = out.named("session_start")
    assert start["event_time_ms"] == early["event_time_ms"] - 100
    session = state.sessions[out.session_of(late["id"])]
    assert session["started_at_ms"] == early["event_time_ms"]
    assert session["last_ms"] == late["event_time_ms"]


def test_late_event_corrects_an_ended_session_without_a_second_end() -> None:
    events = [ev(NOW - 3 * HOUR_MS + MINUTE_MS), ev(NOW - 3 * HOUR_MS + 2 * MINUTE_MS)]
    state, out = run(events, ticks_ms=(NOW + T,))
    late = ev(NOW - 3 * HOUR_MS + 3 * MINUTE_MS, NOW + T)
    state.apply_track(late, 5, out)
    state.finish_batch(out)
    state.tick(NOW + 3 * T, out)

    assert len(out.named("session_end")) == 1
    assert len(out.named("session_start")) == 1
    record = out.sessions[-1]
    assert record["event_count"] == 3 and record["ended"] is True
    assert [r["version"] for r in out.sessions] == sorted({r["version"] for r in out.sessions})


def test_state_expires_after_window_plus_timeout() -> None:
    window_ms = 5 * 24 * HOUR_MS
    state, out = run([ev(NOW - 3 * HOUR_MS)], ticks_ms=(NOW + T,))
    assert state.sessions
    state.tick(NOW - 3 * HOUR_MS + window_ms + T + 1, out)
    assert state.is_empty()
    assert state.next_due_ms() is None


def test_new_live_session_never_reuses_the_previous_live_id() -> None:
    # The previous live session's id is the bucket of the new session's first
    # event (grace rule): the new one takes the next bucket's id.
    bucket = sessionid.bucket_of(NOW, T)
    previous = sessionid.session_id_for_bucket("proj", "dev", bucket)
    state = DeviceState.new("proj", "dev", 0)
    state.data["prev_live"] = previous
    out = Out()
    state.apply_track(ev(NOW, NOW), 0, out)
    assert state.live_id == sessionid.session_id_for_bucket("proj", "dev", bucket + 1)


def test_replay_takes_the_client_id_or_the_live_session() -> None:
    state, _ = run([ev(NOW - MINUTE_MS, NOW)])
    chunk = {"chunk_index": 0, "events_count": 1, "is_full_snapshot": True}
    given = ev(NOW, kind="replay", replay={**chunk, "session_id": "client-sid"})
    assert state.session_id_for_replay(given) == "client-sid"
    assert state.session_id_for_replay(ev(NOW, kind="replay", replay=chunk)) == state.live_id


def test_replaying_the_same_offsets_is_a_no_op_for_the_caller() -> None:
    events = [ev(NOW - 3 * HOUR_MS + i * MINUTE_MS) for i in range(5)]
    state, _ = run(events)
    assert state.offset == len(events) - 1
    restored = DeviceState.loads(state.dumps())
    assert restored.data == state.data
