"""The offline-first scenarios, end to end: real HTTP ingress, Kafka, stream
workers and ClickHouse, asserting on the rows ClickHouse holds.

Each test has its own project (so its own devices and sessions) on one shared
pipeline. Tests control time with timestamps relative to now and, where a
session must end, a project with a short session timeout.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.pipeline.harness import RunningPipeline
from tests.pipeline.helpers import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    SESSION_NAMES,
    EventRow,
    new_project,
    now_ms,
    send_batch,
    sessions_of,
    starts_per_session,
    track,
    wait_for_events,
)

pytestmark = pytest.mark.pipeline


def plain(rows: list[EventRow]) -> list[EventRow]:
    return [r for r in rows if r.name not in SESSION_NAMES]


def in_batches(events: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def test_iot_backlog_over_seven_days(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    # Readings at minute 2, 12, 22 of each half hour: never inside a bucket's grace.
    newest = (now - 3 * MINUTE_MS) // (10 * MINUTE_MS) * (10 * MINUTE_MS) + 2 * MINUTE_MS
    times = [newest - k * 10 * MINUTE_MS for k in range(7 * 144)]
    events = [track("reading", t, "sensor-1", vehicles=k % 17) for k, t in enumerate(times)]

    expected_rejected: list[tuple[int, int]] = []
    accepted = 0
    for b, batch in enumerate(in_batches(events, 500)):
        body = send_batch(shared_pipeline, project, batch)
        accepted += body["accepted"]
        for item in body["rejected"]:
            assert item["reason"] == "validation"
            assert "window" in item["error"]
            expected_rejected.append((b, item["index"]))
    too_old = [(k // 500, k % 500) for k, t in enumerate(times) if now - t > project.window_ms]
    assert sorted(expected_rejected) == too_old
    assert accepted == len(times) - len(too_old)

    rows = wait_for_events(shared_pipeline, project, accepted)
    stored = plain(rows)
    assert len(stored) == accepted
    assert len({r.id for r in stored}) == accepted

    historical = [r for r in stored if now - r.time_ms > project.session_timeout_ms]
    per_session: dict[str, int] = defaultdict(int)
    for row in historical:
        assert row.session_id == project.session_id("sensor-1", row.time_ms)
        per_session[row.session_id] += 1
    full = [n for n in per_session.values() if n == 3]
    assert len(full) >= len(per_session) - 2  # the oldest bucket may be cut by the window
    assert all(n == 1 for n in starts_per_session(rows).values())
    assert set(starts_per_session(rows)) == {r.session_id for r in stored}


def test_bucket_boundary_and_grace(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    day = datetime.now(UTC).date() - timedelta(days=1)
    base = int(datetime(day.year, day.month, day.day, 10, tzinfo=UTC).timestamp() * 1000)
    at = {
        "10:29:58": base + 29 * MINUTE_MS + 58_000,
        "10:30:03": base + 30 * MINUTE_MS + 3_000,
        "10:30:06": base + 30 * MINUTE_MS + 6_000,
    }
    body = send_batch(
        shared_pipeline, project, [track("tick", t, "dev-b", at=k) for k, t in at.items()]
    )
    assert body == {"accepted": 3, "rejected": []}

    rows = plain(wait_for_events(shared_pipeline, project, 3))
    session_of = {r.time_ms: r.session_id for r in rows}
    assert session_of[at["10:29:58"]] == session_of[at["10:30:03"]]
    assert session_of[at["10:30:06"]] != session_of[at["10:30:03"]]
    assert session_of[at["10:30:06"]] == project.session_id("dev-b", at["10:30:06"])


def test_multi_device_household(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    devices = ["phone", "tablet", "laptop"]
    events = []
    for k in range(90):
        event = track("view", now - 4 * HOUR_MS + k * 2 * MINUTE_MS, devices[k % 3])
        event["payload"]["profileId"] = "household-1"
        events.append(event)
    assert send_batch(shared_pipeline, project, events)["accepted"] == 90

    rows = wait_for_events(shared_pipeline, project, 90)
    devices_of_session: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        devices_of_session[row.session_id].add(row.device_id)
    assert all(len(d) == 1 for d in devices_of_session.values())
    profile_devices = {r.device_id for r in plain(rows) if r.profile_id == "household-1"}
    assert profile_devices == set(devices)


def test_kiosk_syncing_overnight(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    day_start = now - DAY_MS + 2 * HOUR_MS  # yesterday, from 26 h to 14 h ago
    visits = [track("visit", day_start + k * 20_000, "kiosk-7") for k in range(2160)]
    live = [track("live_tap", now - 40_000 + k * 5_000, "kiosk-7") for k in range(6)]
    events = visits[:1000] + live[:3] + visits[1000:] + live[3:]
    accepted = sum(
        send_batch(shared_pipeline, project, b)["accepted"] for b in in_batches(events, 2000)
    )
    assert accepted == len(events)

    rows = wait_for_events(shared_pipeline, project, len(events))
    stored = plain(rows)
    for row in stored:
        if row.name == "visit":
            assert row.session_id == project.session_id("kiosk-7", row.time_ms)
    live_sessions = {r.session_id for r in stored if r.name == "live_tap"}
    assert len(live_sessions) == 1
    (live_id,) = live_sessions
    assert {r.name for r in stored if r.session_id == live_id} == {"live_tap"}
    sessions = sessions_of(shared_pipeline, project)
    assert sessions[live_id].kind == "live"
    assert all(s.kind == "historical" for sid, s in sessions.items() if sid != live_id)
    assert all(n == 1 for n in starts_per_session(rows).values())


def test_concurrent_overlapping_batches(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    first = [track("a", now - 3 * HOUR_MS + k * 2 * MINUTE_MS, "dev-c") for k in range(60)]
    second = [
        track("b", now - 150 * MINUTE_MS + k * 2 * MINUTE_MS + 7_000, "dev-c") for k in range(60)
    ]
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def send(events: list[dict[str, Any]]) -> None:
        barrier.wait()
        answers.append(send_batch(shared_pipeline, project, events))

    threads = [threading.Thread(target=send, args=(b,)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a["accepted"] for a in answers) == [60, 60]

    rows = wait_for_events(shared_pipeline, project, 120)
    assert len(plain(rows)) == 120
    assert len({r.id for r in plain(rows)}) == 120
    starts = starts_per_session(rows)
    assert all(n == 1 for n in starts.values())
    assert set(starts) == {r.session_id for r in plain(rows)}


def test_live_session_plus_backlog(shared_pipeline: RunningPipeline) -> None:
    timeout_ms = 20_000
    project = new_project(shared_pipeline, session_timeout_ms=timeout_ms)
    live_at = now_ms() - 3_000
    assert send_batch(shared_pipeline, project, [track("live", live_at, "dev-l")])["accepted"] == 1
    (live_row,) = plain(wait_for_events(shared_pipeline, project, 1))
    before = sessions_of(shared_pipeline, project)[live_row.session_id]

    backlog_start = now_ms() - 3 * HOUR_MS
    backlog = [track("old", backlog_start + k * MINUTE_MS, "dev-l") for k in range(10)]
    assert send_batch(shared_pipeline, project, backlog)["accepted"] == 10
    rows = wait_for_events(shared_pipeline, project, 11)

    assert all(r.session_id != live_row.session_id for r in plain(rows) if r.name == "old")
    after = sessions_of(shared_pipeline, project)[live_row.session_id]
    assert (
        (after.started_ms, after.ended_ms)
        == (before.started_ms, before.ended_ms)
        == (
            live_at,
            live_at,
        )
    )

    def live_ended() -> bool:
        ends = [
            r
            for r in wait_for_events(shared_pipeline, project, 11)
            if r.name == "session_end" and r.session_id == live_row.session_id
        ]
        return len(ends) == 1

    shared_pipeline.wait_for(live_ended, timeout_s=90, what="the live session's session_end")
    end = [
        r
        for r in wait_for_events(shared_pipeline, project, 11)
        if r.name == "session_end" and r.session_id == live_row.session_id
    ]
    assert [r.time_ms for r in end] == [live_at + 1_000]


def test_reverse_order_gives_the_same_sessions(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    gaps_min = [0, 3, 4, 40, 2, 2, 55, 1, 12, 31, 5, 5, 5, 90, 1]
    times = []
    t = now - 20 * HOUR_MS
    for gap in gaps_min:
        t += gap * MINUTE_MS + 1_234
        times.append(t)
    forward = [track("e", ts, "dev-fwd") for ts in times]
    backward = [track("e", ts, "dev-rev") for ts in reversed(times)]
    send_batch(shared_pipeline, project, forward)
    send_batch(shared_pipeline, project, backward)
    rows = wait_for_events(shared_pipeline, project, 2 * len(times))
    sessions = sessions_of(shared_pipeline, project)

    def shape(device: str) -> list[tuple[int, int, int]]:
        return sorted(
            (s.started_ms, s.duration_ms, s.event_count)
            for s in sessions.values()
            if s.device_id == device
        )

    assert shape("dev-fwd") == shape("dev-rev")
    assert len(shape("dev-fwd")) > 1

    def start_times(device: str) -> list[int]:
        return sorted(
            r.time_ms for r in rows if r.device_id == device and r.name == "session_start"
        )

    assert start_times("dev-fwd") == start_times("dev-rev")


def test_clock_ahead(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    sent_at = now_ms()
    body = send_batch(
        shared_pipeline,
        project,
        [
            track("far_future", sent_at + 10 * MINUTE_MS, "dev-clock"),
            track("near_future", sent_at + 30_000, "dev-clock"),
        ],
    )
    assert body == {"accepted": 2, "rejected": []}
    rows = {r.name: r for r in plain(wait_for_events(shared_pipeline, project, 2))}
    assert abs(rows["far_future"].time_ms - sent_at) < 5_000
    assert rows["near_future"].time_ms == sent_at + 30_000


def test_window_edge(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    now = now_ms()
    body = send_batch(
        shared_pipeline,
        project,
        [
            track("inside", now - project.window_ms + MINUTE_MS, "dev-w"),
            track("outside", now - project.window_ms - MINUTE_MS, "dev-w"),
        ],
    )
    assert body["accepted"] == 1
    (rejected,) = body["rejected"]
    assert rejected["index"] == 1
    assert rejected["reason"] == "validation"
    assert "window" in rejected["error"]
    rows = plain(wait_for_events(shared_pipeline, project, 1))
    assert [r.name for r in rows] == ["inside"]


def test_live_inactivity_ends_the_session_once(shared_pipeline: RunningPipeline) -> None:
    timeout_ms = 15_000
    project = new_project(shared_pipeline, session_timeout_ms=timeout_ms)
    times = []
    for _ in range(5):
        times.append(now_ms())
        send_batch(shared_pipeline, project, [track("tap", times[-1], "dev-i")])
        threading.Event().wait(1.0)

    def ended() -> bool:
        rows = wait_for_events(shared_pipeline, project, 5)
        return any(r.name == "session_end" for r in rows)

    shared_pipeline.wait_for(ended, timeout_s=90, what="session_end")
    threading.Event().wait(3.0)  # a second session_end would show up by now
    rows = wait_for_events(shared_pipeline, project, 5)
    assert len({r.session_id for r in plain(rows)}) == 1
    (end,) = [r for r in rows if r.name == "session_end"]
    sessions = sessions_of(shared_pipeline, project)
    assert sessions[end.session_id].duration_ms == times[-1] - times[0]
    assert end.time_ms == times[-1] + 1_000
