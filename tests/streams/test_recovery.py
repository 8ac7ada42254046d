"""Crash and rebalance: a SIGKILLed worker and two workers sharing partitions.

The end result is checked, not the setting: every raw event exactly once
(after dropping repeats by id, which must be exact copies), one session_start
per session, and the same sessions a single uninterrupted worker gives (the
pure `DeviceState` model applied to each device's events in order).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from streams.sessionizer import DeviceState
from tests.streams.checks import assert_well_formed, count_named, sessions_of
from tests.streams.conftest import WorkerPool
from tests.streams.kafka_io import TopicReader, now_ms, produce, raw_event

pytestmark = pytest.mark.kafka

T = 10_000
WAIT_S = 90.0


def make_events(project_id: str, devices: int, per_device: int) -> list[dict[str, Any]]:
    """Historical readings (a few buckets each) and, for every fifth device, live ones."""
    base_ms = (now_ms() - 200 * T) // T * T
    received_ms = now_ms()
    events = []
    for i in range(per_device):
        for d in range(devices):
            if d % 5 == 0 and i >= per_device - 2:
                event_ms = received_ms - 1_000 + i * 100
            else:
                event_ms = base_ms + d * 37 + i * 1_900
            events.append(
                raw_event(
                    project_id, f"dev{d}", event_ms, timeout_ms=T, received_at_ms=received_ms
                )
            )
    return events


def expected_sessions(events: list[dict[str, Any]]) -> dict[str, str]:
    """Event id -> session id, as one worker processing each device in order assigns them."""
    states: dict[str, DeviceState] = {}
    assigned: dict[str, str] = {}

    def emit(kind: str, key: str, record: dict[str, Any]) -> None:
        if kind == "events" and record["name"] not in ("session_start", "session_end"):
            assigned[record["id"]] = record["session_id"]

    for offset, event in enumerate(events):
        state = states.setdefault(
            event["device_id"], DeviceState.new(event["project_id"], event["device_id"], 0)
        )
        state.apply_track(event, offset, emit)
    return assigned


def wait_settled(
    pool: WorkerPool, project_id: str, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    expected = expected_sessions(events)
    reader = TopicReader(pool.config.settings.kafka_bootstrap, pool.config.topics.events)
    try:
        return reader.wait_until(
            lambda rs: count_named(rs, project_id, "session_end") >= len(set(expected.values())),
            WAIT_S,
            f"every session of {project_id} to end; logs:\n{pool.logs()}",
        )
    finally:
        reader.close()


def assert_same_as_one_worker(
    records: list[dict[str, Any]], project_id: str, events: list[dict[str, Any]]
) -> None:
    sessions = sessions_of(records, project_id)
    assert_well_formed(sessions)
    got = {e["id"]: sid for sid, s in sessions.items() for e in s.events}
    assert got == expected_sessions(events)


def produce_slowly(
    bootstrap: str, topic: str, events: list[dict[str, Any]], chunk: int, pause_s: float
) -> None:
    for start in range(0, len(events), chunk):
        produce(bootstrap, topic, events[start : start + chunk])
        time.sleep(pause_s)


def test_sigkill_mid_batch_then_restart(worker_pool: WorkerPool, project_id: str) -> None:
    worker_pool.env["TRACKFLOW_STREAMS_BATCH_MAX"] = "100"
    events = make_events(project_id, devices=40, per_device=50)
    assert len(events) == 2000
    config = worker_pool.config
    worker = worker_pool.start("w1")
    worker.wait_for_log("raw partitions assigned partitions=[0, 1, 2, 3]", WAIT_S)
    producer = threading.Thread(
        target=produce_slowly,
        args=(config.settings.kafka_bootstrap, config.topics.raw_events, events, 50, 0.25),
    )
    reader = TopicReader(config.settings.kafka_bootstrap, config.topics.events)
    try:
        producer.start()
        reader.wait_until(
            lambda rs: sum(r["project_id"] == project_id for r in rs) >= 300,
            WAIT_S,
            "first outputs",
        )
        worker.kill()
        produced_at_kill = sum(
            r["project_id"] == project_id and r["name"] == "screen_view" for r in reader.records
        )
        producer.join()
    finally:
        reader.close()
    assert produced_at_kill < len(events), "the worker finished before it was killed"

    worker_pool.start("w1")
    records = wait_settled(worker_pool, project_id, events)
    assert_same_as_one_worker(records, project_id, events)


def test_two_workers_and_a_restart_give_the_sessions_of_one(
    worker_pool: WorkerPool, project_id: str
) -> None:
    config = worker_pool.config
    events = make_events(project_id, devices=1000, per_device=4)
    first = worker_pool.start("w1")
    second = worker_pool.start("w2")
    produce_slowly(
        config.settings.kafka_bootstrap, config.topics.raw_events, events[:2000], 500, 0.5
    )

    second.stop()
    produce(config.settings.kafka_bootstrap, config.topics.raw_events, events[2000:])
    worker_pool.start("w2")
    records = wait_settled(worker_pool, project_id, events)
    assert first.is_running()

    assert_same_as_one_worker(records, project_id, events)
    per_device: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record["project_id"] == project_id:
            per_device[record["device_id"]].add(record["session_id"])
    assert len(per_device) == 1000
