"""Fixtures shared by all tests.

Tests that need the real broker or server are marked `kafka`, `clickhouse`
or `pipeline`; they use the stack started by `scripts/stack up` and fail with
a message saying so when it is not running. Every test gets its own random
topic, group and table names, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client
from confluent_kafka.admin import AdminClient, NewTopic

from trackflow import settings as settings_module
from trackflow.settings import Settings


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    return settings_module.load()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses: `t_<test name>_<random>`, safe for topics and tables."""
    base = "".join(c if c.isalnum() else "_" for c in request.node.name)[:40]
    return f"t_{base}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def kafka_admin(stack_settings: Settings) -> AdminClient:
    admin = AdminClient({"bootstrap.servers": stack_settings.kafka_bootstrap})
    try:
        admin.list_topics(timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not up
        pytest.fail(
            f"Kafka is not answering at {stack_settings.kafka_bootstrap} ({exc}); "
            "start it with `scripts/stack up`"
        )
    return admin


@pytest.fixture
def kafka_topic(kafka_admin: AdminClient, unique_name: str) -> Iterator[str]:
    """A fresh topic with 4 partitions, deleted after the test."""
    futures = kafka_admin.create_topics([NewTopic(unique_name, 4, 1)])
    futures[unique_name].result(timeout=30)
    yield unique_name
    kafka_admin.delete_topics([unique_name])


@pytest.fixture(scope="session")
def clickhouse(stack_settings: Settings) -> Client:
    client = Client(
        host=stack_settings.clickhouse_host,
        port=stack_settings.clickhouse_port,
        connect_timeout=5,
    )
    try:
        client.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not up
        pytest.fail(
            f"ClickHouse is not answering at {stack_settings.clickhouse_host}:"
            f"{stack_settings.clickhouse_port} ({exc}); start it with `scripts/stack up`"
        )
    return client
