"""Settings read from the environment, shared by every trackflow process.

The variable names are the same in `scripts/stack`, `docker-compose.yml` and
here, so one exported environment points every process at the same stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    """The variable's value; an unset or empty variable gives the default."""
    value = os.environ.get(name, "")
    return value if value else default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Where the stack is and how the pipeline is laid out over it."""

    kafka_bootstrap: str = field(
        default_factory=lambda: env_str(
            "KAFKA_BOOTSTRAP",
            f"{env_str('KAFKA_HOST', '127.0.0.1')}:{env_str('KAFKA_PORT', '9092')}",
        )
    )
    clickhouse_host: str = field(default_factory=lambda: env_str("CLICKHOUSE_HOST", "127.0.0.1"))
    clickhouse_port: int = field(default_factory=lambda: env_int("CLICKHOUSE_PORT", 9000))
    clickhouse_database: str = field(
        default_factory=lambda: env_str("CLICKHOUSE_DATABASE", "trackflow")
    )
    clickhouse_user: str = field(default_factory=lambda: env_str("CLICKHOUSE_USER", "default"))
    clickhouse_password: str = field(
        default_factory=lambda: os.environ.get("CLICKHOUSE_PASSWORD", "")
    )
    # Every topic of the pipeline, source and changelogs alike, has this many
    # partitions; Faust refuses to run when a source and its changelog disagree.
    partitions: int = field(default_factory=lambda: env_int("TRACKFLOW_PARTITIONS", 4))
    # Prefix of every topic name, so that tests and several deployments can
    # share one broker without seeing each other's data.
    topic_prefix: str = field(
        default_factory=lambda: env_str("TRACKFLOW_TOPIC_PREFIX", "trackflow")
    )
    data_dir: Path = field(
        default_factory=lambda: Path(
            env_str("TRACKFLOW_DATA_DIR", str(ROOT / ".stack" / "trackflow"))
        )
    )
    registry_path: Path = field(
        default_factory=lambda: Path(
            env_str("TRACKFLOW_REGISTRY", str(ROOT / ".stack" / "trackflow" / "registry.sqlite3"))
        )
    )


def load() -> Settings:
    return Settings()
