"""Scenarios 12 and 13: stream workers killed and restarted, two workers
sharing the partitions. The result in ClickHouse must be what one healthy
worker gives: every event once, one session_start per session."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from tests.pipeline.harness import RunningPipeline, start_pipeline
from tests.pipeline.helpers import (
    HOUR_MS,
    MINUTE_MS,
    SESSION_NAMES,
    new_project,
    now_ms,
    send_batch,
    starts_per_session,
    track,
    wait_for_events,
)
from trackflow.settings import Settings

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, stack_settings: Settings
) -> Iterator[RunningPipeline]:
    running = start_pipeline(
        tmp_path_factory.mktemp("two-workers"), stack_settings, streams_workers=2
    )
    try:
        yield running
    finally:
        running.stop()


def test_worker_killed_during_a_2000_event_backlog(two_workers: RunningPipeline) -> None:
    project = new_project(two_workers)
    start = now_ms() - 4 * HOUR_MS
    events = [track("reading", start + k * 5_000, "dev-crash", k=k) for k in range(2000)]

    threading.Timer(0.3, two_workers.kill, args=("streams-1",)).start()
    threading.Timer(0.6, two_workers.kill, args=("streams-2",)).start()
    assert send_batch(two_workers, project, events)["accepted"] == 2000

    rows = wait_for_events(two_workers, project, 2000, timeout_s=240)
    stored = [r for r in rows if r.name not in SESSION_NAMES]
    assert len(stored) == 2000
    assert len({r.id for r in stored}) == 2000
    for row in stored:
        assert row.session_id == project.session_id("dev-crash", row.time_ms)
    starts = starts_per_session(rows)
    assert set(starts) == {r.session_id for r in stored}
    assert all(n == 1 for n in starts.values())


def test_many_devices_with_a_worker_restarted(two_workers: RunningPipeline) -> None:
    project = new_project(two_workers)
    start = now_ms() - 6 * HOUR_MS
    devices = [f"dev-{d:04d}" for d in range(1000)]
    events = [
        track("ping", start + k * 23 * MINUTE_MS + d * 1_000, device)
        for k in range(10)
        for d, device in enumerate(devices)
    ]
    batches = [events[i : i + 2000] for i in range(0, len(events), 2000)]
    for i, batch in enumerate(batches):
        if i == len(batches) // 2:
            two_workers.kill("streams-2", signal.SIGTERM)
        assert send_batch(two_workers, project, batch)["accepted"] == len(batch)

    rows = wait_for_events(two_workers, project, len(events), timeout_s=240)
    stored = [r for r in rows if r.name not in SESSION_NAMES]
    assert len(stored) == len(events)
    assert len({r.id for r in stored}) == len(events)
    for row in stored:
        assert row.session_id == project.session_id(row.device_id, row.time_ms)
    starts = starts_per_session(rows)
    assert set(starts) == {r.session_id for r in stored}
    assert all(n == 1 for n in starts.values())
