"""Fixtures of the ingress tests: a registry with one project and its
clients, a fresh raw events topic, and the app served in-process over
TestClient (lifespan included, so the real producer talks to the real broker).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
import uvicorn
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingress.app import create_app
from ingress.config import IngressSettings
from ingress.registry import Client, Project, Registry
from trackflow.settings import Settings
from trackflow.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4
BROWSER_ORIGIN = "https://shop.example.com"


@dataclass
class Env:
    http: TestClient
    registry: Registry
    project: Project
    client: Client
    secret: str
    browser: Client
    topic: str
    bootstrap: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "openpanel-client-id": self.client.id,
            "openpanel-client-secret": self.secret,
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0",
            "openpanel-sdk-name": "test",
            "openpanel-sdk-version": "1.0.0",
        }

    def records(
        self, count: int, timeout_s: float = 20.0
    ) -> list[tuple[bytes, dict[str, Any], int]]:
        return read_records(self.bootstrap, self.topic, count, timeout_s)


def read_records(
    bootstrap: str, topic: str, count: int, timeout_s: float = 20.0
) -> list[tuple[bytes, dict[str, Any], int]]:
    """(key, value, partition) of the topic's first records, at least `count` of them
    when they arrive within `timeout_s`, then whatever else is already there."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t_{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out: list[tuple[bytes, dict[str, Any], int]] = []
    validator = raw_record_validator()
    deadline = time.monotonic() + timeout_s
    idle_until = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, timeout=0.5)
            for message in batch:
                if message.error():
                    continue
                record = orjson.loads(message.value())
                validator.validate(record)
                out.append((message.key(), record, message.partition()))
            if len(out) >= count:
                # a short grace to catch records beyond what was expected
                idle_until = idle_until or time.monotonic() + 0.3
                if not batch and time.monotonic() > idle_until:
                    break
    finally:
        consumer.close()
    return out


def raw_record_validator() -> jsonschema_rs.Draft202012Validator:
    """Every record read back must match the written-down format."""
    schema = orjson.loads((ROOT / "schemas" / "kafka" / "events-raw.v1.json").read_bytes())
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn server on a free loopback port; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start in 20 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def make_topic(admin: AdminClient, name: str) -> None:
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(timeout=30)


def ingress_settings(
    shared: Settings, prefix: str, registry: Path, **kwargs: Any
) -> IngressSettings:
    return IngressSettings(
        shared=dataclasses.replace(shared, topic_prefix=prefix, registry_path=registry),
        **kwargs,
    )


@pytest.fixture
def env(
    tmp_path: Path, kafka_admin: AdminClient, unique_name: str, stack_settings: Settings
) -> Iterator[Env]:
    topic = Topics(unique_name).raw_events
    make_topic(kafka_admin, topic)
    registry = Registry(tmp_path / "registry.sqlite3")
    project = registry.create_project("test", session_timeout_ms=60_000)
    client, secret = registry.create_client(project.id, name="server")
    browser, _ = registry.create_client(
        project.id, name="web", origins=["shop.example.com", "*.example.org"], with_secret=False
    )
    assert secret is not None
    settings = ingress_settings(stack_settings, unique_name, registry.path, produce_timeout_s=10.0)
    try:
        with TestClient(create_app(settings)) as http:
            yield Env(
                http,
                registry,
                project,
                client,
                secret,
                browser,
                topic,
                stack_settings.kafka_bootstrap,
            )
    finally:
        kafka_admin.delete_topics([topic])
