"""`python -m ingress` with two uvicorn workers: it serves, and /metrics sums the workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from ingress.registry import Registry
from tests.ingress.conftest import make_topic, read_records
from trackflow import pipeline
from trackflow.settings import Settings
from trackflow.topics import Topics

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_serve_and_share_their_metrics(
    tmp_path: Path, kafka_admin: AdminClient, stack_settings: Settings, unique_name: str
) -> None:
    topic = Topics(unique_name).raw_events
    make_topic(kafka_admin, topic)
    registry = Registry(tmp_path / "registry.sqlite3")
    project = registry.create_project("served")
    client, secret = registry.create_client(project.id)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "TRACKFLOW_REGISTRY": str(registry.path),
        "TRACKFLOW_TOPIC_PREFIX": unique_name,
        "TRACKFLOW_INGRESS_WORKERS": "2",
        "TRACKFLOW_INGRESS_PORT": str(port),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "ingress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"openpanel-client-id": client.id, "openpanel-client-secret": secret or ""}
    try:
        pipeline.wait_ready(url, timeout_s=30)
        # a new connection per request, so that both workers take some
        statuses = {
            httpx.post(
                f"{url}/track",
                json={"type": "track", "payload": {"name": f"n{i}"}},
                headers=headers,
                timeout=15,
            ).status_code
            for i in range(40)
        }
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
        kafka_admin.delete_topics([topic])

    assert statuses == {200}
    assert 'trackflow_ingress_requests_total{route="/track",status="200"} 40.0' in metrics
    assert len(read_records(stack_settings.kafka_bootstrap, topic, 40)) == 40
