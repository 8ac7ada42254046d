"""A whole pipeline for end-to-end tests: ingress, stream workers and sink as
real processes on the real stack, isolated by a random topic prefix, ClickHouse
database, registry and data folder."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clickhouse_driver import Client
from confluent_kafka.admin import AdminClient

from schemas.clickhouse.render import Dialect
from sink.clickhouse import ClickHouse
from tests.net import free_port
from trackflow import pipeline
from trackflow.settings import Settings
from trackflow.supervisor import Supervisor


@dataclass
class RunningPipeline:
    settings: Settings
    layout: pipeline.Layout
    supervisor: Supervisor
    env: dict[str, str]
    _stop: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def watch(self) -> None:
        """Restart processes that die, as `trackflow run` does."""

        def loop() -> None:
            while not self._stop.wait(0.5):
                self.supervisor.check()

        self._watcher = threading.Thread(target=loop, name="supervisor", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(30)
        self.supervisor.stop()
        self._drop_data()

    def _drop_data(self) -> None:
        """Delete this pipeline's topics and database, so runs don't pile up on a dev stack."""
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap})
        prefix = self.settings.topic_prefix
        topics = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
        if topics:
            for future in admin.delete_topics(topics, operation_timeout=30).values():
                future.result(timeout=30)
        client = self.clickhouse()
        try:
            client.execute(f"DROP DATABASE IF EXISTS {self.settings.clickhouse_database}")
        finally:
            client.disconnect()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = self.supervisor.pids()[name]
        os.kill(pid, sig)
        return pid

    @property
    def url(self) -> str:
        return self.layout.ingress_url

    @functools.cached_property
    def dialect(self) -> Dialect:
        """How the tables are rendered on the server this pipeline writes to."""
        server = ClickHouse(self.settings)
        try:
            return server.dialect()
        finally:
            server.disconnect()

    def clickhouse(self) -> Client:
        return Client(
            host=self.settings.clickhouse_host,
            port=self.settings.clickhouse_port,
            database=self.settings.clickhouse_database,
        )

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        client = self.clickhouse()
        try:
            rows: list[tuple[Any, ...]] = client.execute(sql, params or {})
            return rows
        finally:
            client.disconnect()

    def wait_for(
        self,
        probe: Callable[[], bool],
        timeout_s: float = 90.0,
        what: str = "condition",
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if probe():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def start_pipeline(
    tmp_path: Path, stack_settings: Settings, streams_workers: int = 1, **env: str
) -> RunningPipeline:
    tag = uuid.uuid4().hex[:10]
    settings = replace(
        stack_settings,
        topic_prefix=f"t{tag}",
        clickhouse_database=f"t{tag}",
        data_dir=tmp_path / "data",
        registry_path=tmp_path / "registry.sqlite3",
    )
    process_env = {
        "TRACKFLOW_TOPIC_PREFIX": settings.topic_prefix,
        "CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "TRACKFLOW_DATA_DIR": str(settings.data_dir),
        "TRACKFLOW_REGISTRY": str(settings.registry_path),
        "TRACKFLOW_SESSION_TICK_S": "0.5",
        "TRACKFLOW_HISTORICAL_START_DELAY_S": "1",
        "TRACKFLOW_STREAMS_GROUP_TIMEOUT_S": "8",
        **env,
    }
    layout = pipeline.Layout(
        ingress_port=free_port(),
        streams_workers=streams_workers,
        streams_web_port=free_port(),
        sink_metrics_port=free_port(),
    )
    specs = [
        replace(spec, env={**spec.env, **process_env})
        for spec in pipeline.process_specs(settings, layout)
    ]
    supervisor = Supervisor(specs, settings.data_dir / "logs")
    pipeline.create_topics(settings)
    supervisor.start()
    running = RunningPipeline(settings, layout, supervisor, process_env)
    running.watch()
    try:
        pipeline.wait_ready(layout.ingress_url, timeout_s=120)
    except TimeoutError:
        running.stop()
        raise
    return running
