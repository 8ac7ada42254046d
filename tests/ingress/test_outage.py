"""A Kafka outage on a private broker: no 2xx while it is down, nothing
acknowledged before it is lost, and service comes back with the broker."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from fastapi.testclient import TestClient

from ingress.app import create_app
from ingress.registry import Registry
from tests.ingress.conftest import ingress_settings, make_topic, read_records
from tests.net import free_port
from trackflow.settings import Settings
from trackflow.topics import Topics

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]


class PrivateKafka:
    def __init__(self, stack_dir: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "TRACKFLOW_STACK_DIR": str(stack_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
        }

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _stack(self, command: str) -> None:
        # `up` waits for the broker itself (TRACKFLOW_STACK_TIMEOUT_S, 90 s by default)
        subprocess.run(
            [str(ROOT / "scripts" / "stack"), command, "kafka"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def up(self) -> None:
        self._stack("up")

    def down(self) -> None:
        self._stack("down")


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    kafka = PrivateKafka(tmp_path / "stack")
    kafka.up()
    try:
        yield kafka
    finally:
        kafka.down()


def test_no_2xx_during_an_outage_and_nothing_acknowledged_is_lost(
    private_kafka: PrivateKafka, tmp_path: Path, stack_settings: Settings, unique_name: str
) -> None:
    shared = Settings(kafka_bootstrap=private_kafka.bootstrap)
    topic = Topics(unique_name).raw_events
    make_topic(AdminClient({"bootstrap.servers": private_kafka.bootstrap}), topic)
    registry = Registry(tmp_path / "registry.sqlite3")
    project = registry.create_project("outage")
    client, secret = registry.create_client(project.id)
    headers = {"openpanel-client-id": client.id, "openpanel-client-secret": secret or ""}
    settings = ingress_settings(
        shared, unique_name, registry.path, produce_timeout_s=3.0, delivery_timeout_s=4.0
    )
    batch = {"events": [{"type": "track", "payload": {"name": f"before-{i}"}} for i in range(200)]}

    with TestClient(create_app(settings)) as http:
        before = http.post("/track/batch", json=batch, headers=headers)
        assert before.status_code == 202 and before.json()["accepted"] == 200

        private_kafka.down()
        started = time.monotonic()
        during_single = http.post(
            "/track", json={"type": "track", "payload": {"name": "during"}}, headers=headers
        )
        during_batch = http.post("/track/batch", json=batch, headers=headers)
        took_s = time.monotonic() - started
        not_ready = http.get("/readyz")

        private_kafka.up()
        after = _first_2xx(http, headers, deadline_s=30)

    assert during_single.status_code == 503 and during_batch.status_code == 503
    assert during_single.headers["retry-after"] == "5"
    assert took_s < 10, "a request during the outage must be answered within its bound"
    assert not_ready.status_code == 503
    assert after == 200
    names = {record["name"] for _, record, _ in read_records(private_kafka.bootstrap, topic, 201)}
    assert {f"before-{i}" for i in range(200)} <= names
    assert "after" in names


def _first_2xx(http: TestClient, headers: dict[str, str], deadline_s: float) -> int:
    """Status of the first /track that succeeds after the broker is back (or the last one)."""
    deadline = time.monotonic() + deadline_s
    status = 0
    while time.monotonic() < deadline:
        status = http.post(
            "/track", json={"type": "track", "payload": {"name": "after"}}, headers=headers
        ).status_code
        if status == 200:
            break
    return status
