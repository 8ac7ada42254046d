"""A whole pipeline per test module: ingress, stream workers and sink as real
processes on the real stack, isolated by a random topic prefix, ClickHouse
database, registry and data folder."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from trackflow import pipeline
from trackflow.settings import Settings
from trackflow.supervisor import Supervisor


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningPipeline:
    settings: Settings
    layout: pipeline.Layout
    supervisor: Supervisor
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.layout.ingress_url

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
    supervisor.start()
    running = RunningPipeline(settings, layout, supervisor, process_env)
    pipeline.wait_ready(layout, timeout_s=120)
    return running


@pytest.fixture(scope="session")
def shared_pipeline(
    tmp_path_factory: pytest.TempPathFactory, stack_settings: Settings
) -> Iterator[RunningPipeline]:
    """One pipeline for every test that only needs its own project: projects
    never share devices, sessions or rows, so tests stay independent."""
    running = start_pipeline(tmp_path_factory.mktemp("pipeline"), stack_settings)
    try:
        yield running
    finally:
        running.supervisor.stop()
