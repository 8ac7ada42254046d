"""Fixtures of the stream processor's tests: workers on a random topic prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from streams.admin import ensure_topics
from streams.config import StreamsConfig
from streams.worker_process import WorkerProcess
from trackflow.settings import Settings

# Ticks this often, so session ends come within half a second of their time.
TEST_TICK_S = "0.5"


class WorkerPool:
    """Stream workers sharing one topic prefix, each with its own data dir."""

    def __init__(self, base: Path, bootstrap: str) -> None:
        self.prefix = f"t-streams-{uuid.uuid4().hex[:10]}"
        self.env = {
            "TRACKFLOW_TOPIC_PREFIX": self.prefix,
            "TRACKFLOW_SESSION_TICK_S": TEST_TICK_S,
            # Kafka's smallest allowed group session timeout is 6 s.
            "TRACKFLOW_STREAMS_GROUP_TIMEOUT_S": "8",
            "KAFKA_BOOTSTRAP": bootstrap,
        }
        self.config = StreamsConfig(
            settings=Settings(kafka_bootstrap=bootstrap, topic_prefix=self.prefix),
            data_dir=base,
        )
        self._base = base
        self.workers: list[WorkerProcess] = []
        ensure_topics(self.config)

    def start(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(self._base / name, env=self.env)
        worker.start()
        self.workers.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()
        delete_topics(self.config.settings.kafka_bootstrap, self.prefix)

    def logs(self) -> str:
        return "\n".join(w.log_text()[-4000:] for w in self.workers)


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics of a prefix (outputs, internal and changelog topics)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result(timeout=30)


@pytest.fixture
def worker_pool(
    tmp_path: Path, stack_settings: Settings, kafka_admin: object
) -> Iterator[WorkerPool]:
    pool = WorkerPool(tmp_path, stack_settings.kafka_bootstrap)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def module_worker(
    tmp_path_factory: pytest.TempPathFactory, stack_settings: Settings, kafka_admin: object
) -> Iterator[WorkerPool]:
    """One worker shared by a module's tests; each test uses its own project id."""
    pool = WorkerPool(tmp_path_factory.mktemp("streams"), stack_settings.kafka_bootstrap)
    pool.start("w1")
    yield pool
    pool.stop_all()


@pytest.fixture
def project_id() -> str:
    return f"proj-{uuid.uuid4().hex[:8]}"
