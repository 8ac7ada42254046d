"""A real stream worker against the real Kafka: the session rules end to end.

All tests share one worker (module fixture) and use their own project id. The
session timeout is short (`T`) so that session ends come within seconds; the
rules are the same at any timeout.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.streams.checks import assert_well_formed, count_named, sessions_of
from tests.streams.conftest import WorkerPool
from tests.streams.kafka_io import TopicReader, now_ms, produce, produce_bytes, raw_event
from trackflow import sessionid

pytestmark = pytest.mark.kafka

T = 6_000
WAIT_S = 60.0


def readings(
    project_id: str, device_id: str, first_ms: int, count: int, step_ms: int
) -> list[dict[str, Any]]:
    return [
        raw_event(
            project_id, device_id, first_ms + i * step_ms, timeout_ms=T, received_at_ms=now_ms()
        )
        for i in range(count)
    ]


def aligned_past_ms(age_ms: int) -> int:
    """A time about `age_ms` ago, on a multiple of T."""
    return (now_ms() - age_ms) // T * T


def settle(pool: WorkerPool, project_id: str, done: Any) -> list[dict[str, Any]]:
    reader = TopicReader(pool.config.settings.kafka_bootstrap, pool.config.topics.events)
    try:
        return reader.wait_until(
            lambda records: done([r for r in records if r["project_id"] == project_id]),
            WAIT_S,
            f"outputs of {project_id}; worker log:\n{pool.logs()}",
        )
    finally:
        reader.close()


def test_backlog_in_batches_gives_one_session_per_bucket(
    module_worker: WorkerPool, project_id: str
) -> None:
    # Readings every T/3 for 100 buckets, uploaded in batches of 500 after
    # the fact, then a few live ones: three readings per historical bucket.
    first_ms = aligned_past_ms(100 * T) + 2_000
    events = readings(project_id, "sensor", first_ms, 300, T // 3)
    for start in range(0, len(events), 500):
        produce(
            module_worker.config.settings.kafka_bootstrap,
            module_worker.config.topics.raw_events,
            events[start : start + 500],
        )

    records = settle(
        module_worker, project_id, lambda rs: count_named(rs, project_id, "session_end") >= 100
    )
    sessions = sessions_of(records, project_id)
    assert_well_formed(sessions)
    assert sorted(len(s.events) for s in sessions.values()) == [3] * 100
    for event in events:
        expected = sessionid.session_id(project_id, "sensor", event["event_time_ms"], T)
        assert expected in sessions
    assert sum(len(s.events) for s in sessions.values()) == len(events)


def test_bucket_boundary_grace(module_worker: WorkerPool, project_id: str) -> None:
    boundary_ms = aligned_past_ms(20 * T)
    grace_ms = sessionid.grace_ms(T)
    times = [boundary_ms - 2_000, boundary_ms + grace_ms - 500, boundary_ms + grace_ms + 500]
    events = [raw_event(project_id, "d", t, timeout_ms=T) for t in times]
    produce(
        module_worker.config.settings.kafka_bootstrap,
        module_worker.config.topics.raw_events,
        events,
    )

    records = settle(
        module_worker, project_id, lambda rs: count_named(rs, project_id, "session_end") >= 2
    )
    by_id = {r["id"]: r["session_id"] for r in records if r["project_id"] == project_id}
    assert by_id[events[0]["id"]] == by_id[events[1]["id"]] != by_id[events[2]["id"]]
    assert_well_formed(sessions_of(records, project_id))


def test_reverse_order_batch_matches_time_order(
    module_worker: WorkerPool, project_id: str
) -> None:
    first_ms = aligned_past_ms(40 * T) + 500
    forward = readings(project_id, "fwd", first_ms, 60, 1_700)
    backward = readings(project_id, "bwd", first_ms, 60, 1_700)
    produce(
        module_worker.config.settings.kafka_bootstrap,
        module_worker.config.topics.raw_events,
        forward + backward[::-1],
    )

    def marks(records: list[dict[str, Any]], device: str) -> list[tuple[int, int | None]]:
        return sorted(
            (r["event_time_ms"], r.get("duration_ms"))
            for r in records
            if r["device_id"] == device and r["name"] in ("session_start", "session_end")
        )

    records = settle(
        module_worker,
        project_id,
        lambda rs: len(marks(rs, "bwd")) >= 2 * 17 and len(marks(rs, "fwd")) >= 2 * 17,
    )
    assert marks(records, "fwd") == marks(records, "bwd")
    assert_well_formed(sessions_of(records, project_id))


def test_two_overlapping_batches_at_once_share_each_session_start(
    module_worker: WorkerPool, project_id: str
) -> None:
    first_ms = aligned_past_ms(30 * T) + 300
    batch_a = readings(project_id, "dev", first_ms, 200, 500)
    batch_b = readings(project_id, "dev", first_ms + 40_000, 200, 500)
    bootstrap = module_worker.config.settings.kafka_bootstrap
    topic = module_worker.config.topics.raw_events
    threads = [
        threading.Thread(target=produce, args=(bootstrap, topic, b)) for b in (batch_a, batch_b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    buckets = {sessionid.bucket_of(e["event_time_ms"], T) for e in batch_a + batch_b}
    records = settle(
        module_worker,
        project_id,
        lambda rs: count_named(rs, project_id, "session_end") >= len(buckets),
    )
    sessions = sessions_of(records, project_id)
    assert len(sessions) == len(buckets)
    assert_well_formed(sessions)
    delivered = {e["id"] for s in sessions.values() for e in s.events}
    assert delivered == {e["id"] for e in batch_a + batch_b}


def test_live_session_keeps_id_and_end_when_a_backlog_arrives(
    module_worker: WorkerPool, project_id: str
) -> None:
    bootstrap = module_worker.config.settings.kafka_bootstrap
    topic = module_worker.config.topics.raw_events
    live = [raw_event(project_id, "d", now_ms() - 1_000, timeout_ms=T)]
    produce(bootstrap, topic, live)
    records = settle(
        module_worker, project_id, lambda rs: count_named(rs, project_id, "session_start") == 1
    )
    live_id = next(r["session_id"] for r in records if r["id"] == live[0]["id"])

    backlog = readings(project_id, "d", aligned_past_ms(50 * T) + 100, 40, 2_000)
    produce(bootstrap, topic, backlog)
    records = settle(
        module_worker,
        project_id,
        lambda rs: any(r["name"] == "session_end" and r["session_id"] == live_id for r in rs),
    )
    sessions = sessions_of(records, project_id)
    assert [e["id"] for e in sessions[live_id].events] == [live[0]["id"]]
    (end,) = sessions[live_id].ends
    assert end["event_time_ms"] == live[0]["event_time_ms"] + 1000
    assert end["duration_ms"] == 0


def test_profiles_groups_replay_and_dead_letters(
    module_worker: WorkerPool, project_id: str
) -> None:
    config = module_worker.config
    bootstrap = config.settings.kafka_bootstrap
    topic = config.topics.raw_events
    t = now_ms()
    changes = [
        raw_event(
            project_id,
            "d",
            t,
            timeout_ms=T,
            kind="identify",
            profile_id="u1",
            profile={"email": "a@b.c"},
            properties={"plan": "pro"},
        ),
        *[
            raw_event(
                project_id,
                f"d{i}",
                t,
                timeout_ms=T,
                kind="increment",
                profile_id="u1",
                property="visits",
                value=2,
            )
            for i in range(5)
        ],
        raw_event(
            project_id, "d", t, timeout_ms=T, kind="decrement", profile_id="u1", property="visits"
        ),
        raw_event(
            project_id,
            "d",
            t,
            timeout_ms=T,
            kind="assign_group",
            profile_id="u1",
            group_ids=["g1"],
        ),
        raw_event(
            project_id,
            "d",
            t,
            timeout_ms=T,
            kind="group",
            group={"id": "g1", "type": "company", "name": "Acme"},
        ),
        raw_event(
            project_id,
            "d",
            t,
            timeout_ms=T,
            kind="replay",
            replay={
                "chunk_index": 0,
                "events_count": 1,
                "is_full_snapshot": True,
                "started_at_ms": t,
                "ended_at_ms": t,
                "payload": "[]",
            },
        ),
    ]
    produce_bytes(bootstrap, topic, f"{project_id}:d".encode(), b"{not json")
    produce(bootstrap, topic, changes)

    profiles = TopicReader(bootstrap, config.topics.profiles)
    groups = TopicReader(bootstrap, config.topics.groups)
    replays = TopicReader(bootstrap, config.topics.replay_chunks)
    dead = TopicReader(bootstrap, config.topics.dead_letter)
    try:
        mine = lambda rs: [r for r in rs if r.get("project_id") == project_id]  # noqa: E731 - a short filter
        final = profiles.wait_until(
            lambda rs: any(r["version"] == 8 for r in mine(rs)), WAIT_S, "profile v8"
        )
        latest = max(mine(final), key=lambda r: r["version"])
        assert latest["properties"] == {"plan": "pro", "visits": 9}
        assert latest["email"] == "a@b.c" and latest["group_ids"] == ["g1"]
        group = groups.wait_until(lambda rs: bool(mine(rs)), WAIT_S, "group")[-1]
        assert (group["group_id"], group["name"]) == ("g1", "Acme")
        chunk = replays.wait_until(lambda rs: bool(mine(rs)), WAIT_S, "replay chunk")[-1]
        assert chunk["session_id"] == sessionid.session_id(project_id, "d", t, T)
        letters = dead.wait_until(
            lambda rs: any(r["source_topic"] == topic and "not JSON" in r["error"] for r in rs),
            WAIT_S,
            "dead letter",
        )
        letter = next(r for r in letters if "not JSON" in r["error"] and r["value"] == "{not json")
        assert letter["stage"] == "streams" and letter["offset"] >= 0
    finally:
        for reader in (profiles, groups, replays, dead):
            reader.close()
