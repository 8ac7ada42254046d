"""No loss, no duplicates, on the real Kafka and ClickHouse 18.16, while things break.

Both tests let 100,000 events (with their session records, and re-emitted
copies of some of them) flow into a sink run as `python -m sink run`, and
check the RAW row counts, not a deduplicated view.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from clickhouse_driver import Client

from tests.net import free_port
from tests.sink.conftest import count, produce, wait_for
from tests.sink.records import Expected, sessions_workload
from trackflow.settings import ROOT, Settings
from trackflow.topics import Topics

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse]

N_EVENTS = 100_000


class SinkProcess:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "CLICKHOUSE_HOST": settings.clickhouse_host,
            "CLICKHOUSE_PORT": str(settings.clickhouse_port),
            "CLICKHOUSE_DATABASE": settings.clickhouse_database,
            "TRACKFLOW_TOPIC_PREFIX": settings.topic_prefix,
            "SINK_MAX_BATCH_ROWS": "20000",
            "SINK_FLUSH_INTERVAL_S": "0.5",
            "SINK_RETRY_MAX_S": "2",
            "SINK_INSTANCE_ID": f"{settings.topic_prefix}-sink-0",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sink", "run"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Flow(threading.Thread):
    """Produces the workload in the background over about `duration_s`."""

    def __init__(self, settings: Settings, seed: int, duration_s: float) -> None:
        super().__init__(daemon=True)
        topics = Topics(settings.topic_prefix)
        self.records, self.expected = sessions_workload(
            topics, "proj", N_EVENTS, seed=seed, reemit_every=500
        )
        self.bootstrap = settings.kafka_bootstrap
        self.duration_s = duration_s
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        chunks = 40
        step = len(self.records) // chunks + 1
        try:
            for i in range(0, len(self.records), step):
                produce(self.bootstrap, self.records[i : i + step])
                time.sleep(self.duration_s / chunks)
        except BaseException as exc:  # noqa: BLE001 - kept and raised in the test's thread
            self.error = exc

    def finish(self) -> Expected:
        self.join(timeout=120)
        assert not self.is_alive(), "producing the workload took more than 120 s"
        if self.error is not None:
            raise self.error
        return self.expected


def assert_exact(clickhouse: Client, db: str, expected: Expected) -> None:
    events = len(expected.event_ids)
    sessions = len(expected.session_ids)
    assert count(clickhouse, f"SELECT count() FROM {db}.events") == events
    assert count(clickhouse, f"SELECT uniqExact(id) FROM {db}.events") == events
    assert (
        count(clickhouse, f"SELECT count() FROM {db}.events WHERE name = 'session_start'")
        == sessions
    )
    # The ReplacingMergeTree drops old versions when it merges, so the raw count
    # of sessions lies between the number of sessions and the number of versions.
    raw_sessions = count(clickhouse, f"SELECT count() FROM {db}.sessions")
    assert sessions <= raw_sessions <= len(expected.session_versions)
    assert count(clickhouse, f"SELECT count() - uniqExact(id, version) FROM {db}.sessions") == 0
    assert count(clickhouse, f"SELECT count() FROM {db}.sessions FINAL") == sessions
    assert count(clickhouse, f"SELECT countIf(is_ended) FROM {db}.sessions FINAL") == sessions


def wait_complete(clickhouse: Client, db: str, expected: Expected, timeout_s: float) -> None:
    wait_for(
        "every event and session version",
        lambda: (
            count(clickhouse, f"SELECT count() FROM {db}.events") >= len(expected.event_ids)
            and count(clickhouse, f"SELECT countIf(is_ended) FROM {db}.sessions FINAL")
            >= len(expected.session_ids)
        ),
        timeout_s=timeout_s,
    )
    time.sleep(1.5)  # a duplicate written late would show up within a batch interval


def test_sigkill_at_random_points(
    sink_settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    db = sink_settings.clickhouse_database
    rng = random.Random()
    sink = SinkProcess(sink_settings, tmp_path / "sink.log")
    producer = Flow(sink_settings, seed=7, duration_s=15)
    seen_at_kill: list[int] = []
    try:
        for _ in range(5):
            sink.start()
            time.sleep(rng.uniform(1.5, 4.0))
            sink.kill()
            seen_at_kill.append(count(clickhouse, f"SELECT count() FROM {db}.events"))
        expected = producer.finish()
        sink.start()
        wait_complete(clickhouse, db, expected, timeout_s=90)
    finally:
        sink.stop()
    print(f"events rows seen at each SIGKILL: {seen_at_kill}; expected {len(expected.event_ids)}")
    assert_exact(clickhouse, db, expected)
    assert sum(0 < n < len(expected.event_ids) for n in seen_at_kill) >= 2, (
        f"the kills did not fall in the middle of the flow: {seen_at_kill}"
    )


@pytest.fixture
def private_clickhouse(tmp_path: Path) -> Iterator[tuple[dict[str, str], int]]:
    """A ClickHouse of our own (scripts/stack, other ports), to stop and start."""
    port = free_port()
    env = {
        **os.environ,
        "TRACKFLOW_STACK_DIR": str(tmp_path / "stack"),
        "CLICKHOUSE_PORT": str(port),
        "CLICKHOUSE_HTTP_PORT": str(free_port()),
        "CLICKHOUSE_INTERSERVER_PORT": str(free_port()),
    }
    stack = str(ROOT / "scripts" / "stack")
    subprocess.run([stack, "up", "clickhouse"], env=env, check=True, timeout=120)
    try:
        yield env, port
    finally:
        subprocess.run([stack, "down", "clickhouse"], env=env, check=False, timeout=60)


def test_clickhouse_stopped_for_30_s(
    sink_settings: Settings, private_clickhouse: tuple[dict[str, str], int], tmp_path: Path
) -> None:
    env, port = private_clickhouse
    stack = str(ROOT / "scripts" / "stack")
    settings = replace(sink_settings, clickhouse_port=port)
    db = settings.clickhouse_database
    clickhouse = Client("127.0.0.1", port=port, connect_timeout=5)
    sink = SinkProcess(settings, tmp_path / "sink.log")
    producer = Flow(settings, seed=11, duration_s=20)
    try:
        sink.start()
        wait_for(
            "the first rows", lambda: count(clickhouse, f"SELECT count() FROM {db}.events") > 0
        )
        subprocess.run([stack, "down", "clickhouse"], env=env, check=True, timeout=60)
        clickhouse.disconnect()
        time.sleep(30)
        subprocess.run([stack, "up", "clickhouse"], env=env, check=True, timeout=120)
        expected = producer.finish()
        wait_complete(clickhouse, db, expected, timeout_s=90)
    finally:
        sink.stop()
    assert "clickhouse insert failed" in sink.log() or "cannot read resume point" in sink.log()
    assert "clickhouse insert succeeded again" in sink.log()
    assert_exact(clickhouse, db, expected)
