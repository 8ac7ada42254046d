"""The pipeline as a set of processes: which ones, with what arguments, and
how a caller waits for it to be ready.

`trackflow run` keeps a Supervisor over these specs in the foreground;
`trackflow start` runs that in the background and writes a state file so that
`status` and `stop` find it again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from trackflow.settings import Settings
from trackflow.supervisor import ProcessSpec, python_module


@dataclass(frozen=True)
class Layout:
    ingress_host: str = "127.0.0.1"
    ingress_port: int = 8080
    ingress_workers: int = 1
    streams_workers: int = 1
    streams_web_port: int = 6066
    sink_metrics_port: int = 9464

    @property
    def ingress_url(self) -> str:
        return f"http://{self.ingress_host}:{self.ingress_port}"


def process_specs(settings: Settings, layout: Layout) -> list[ProcessSpec]:
    specs = [
        ProcessSpec(
            "ingress",
            python_module(
                "ingress",
                "--host",
                layout.ingress_host,
                "--port",
                str(layout.ingress_port),
                "--workers",
                str(layout.ingress_workers),
            ),
        ),
        ProcessSpec(
            "sink",
            python_module("sink", "run", "--metrics-port", str(layout.sink_metrics_port)),
            # a static group member: a restarted sink gets its partitions back at once
            env={"SINK_INSTANCE_ID": f"{settings.topic_prefix}-sink-1"},
        ),
    ]
    for i in range(1, layout.streams_workers + 1):
        data_dir = settings.data_dir / f"streams-{i}"
        specs.append(
            ProcessSpec(
                f"streams-{i}",
                python_module(
                    "streams",
                    "worker",
                    "--data-dir",
                    str(data_dir),
                    "--web-port",
                    str(layout.streams_web_port + i - 1),
                ),
            )
        )
    return specs


def create_topics(settings: Settings) -> None:
    """Create every pipeline topic with the configured partition count before
    any process starts, so none of them is auto-created with the broker's
    default or found missing by a subscriber."""
    from streams.admin import ensure_topics
    from streams.config import StreamsConfig

    ensure_topics(StreamsConfig(settings=settings, data_dir=settings.data_dir))


def wait_ready(
    ingress_url: str,
    timeout_s: float = 120.0,
    still_running: Callable[[], bool] = lambda: True,
) -> None:
    """Block until the ingress answers /readyz (it needs Kafka) or raise
    TimeoutError; give up at once when `still_running()` turns false."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if not still_running():
            raise TimeoutError("the pipeline stopped before it was ready")
        try:
            # each probe is short, so a hung socket can't eat the whole budget
            response = httpx.get(f"{ingress_url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise TimeoutError(f"ingress at {ingress_url} not ready after {timeout_s:.0f} s: {last}")


@dataclass(frozen=True)
class State:
    """What `trackflow start` left behind for `status` and `stop`."""

    supervisor_pid: int
    layout: Layout
    log_dir: str
    pids: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def path(settings: Settings) -> Path:
        return settings.data_dir / "pipeline.json"

    def save(self, settings: Settings) -> None:
        self.path(settings).parent.mkdir(parents=True, exist_ok=True)
        self.path(settings).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, settings: Settings) -> State | None:
        try:
            raw = json.loads(cls.path(settings).read_text())
        except FileNotFoundError:
            return None
        return cls(
            raw["supervisor_pid"], Layout(**raw["layout"]), raw["log_dir"], raw.get("pids", {})
        )

    def alive(self) -> bool:
        return pid_alive(self.supervisor_pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
