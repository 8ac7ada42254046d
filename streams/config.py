"""Settings of a stream worker: the shared trackflow settings plus its own knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trackflow.settings import Settings, env_float
from trackflow.topics import Topics


@dataclass(frozen=True)
class StreamsConfig:
    settings: Settings
    data_dir: Path
    web_port: int | None = None
    # How often each worker asks its partitions to end the sessions that are
    # over; a session_end comes at most this much after its due time.
    tick_s: float = field(default_factory=lambda: env_float("TRACKFLOW_SESSION_TICK_S", 5.0))
    # Events are handled in batches of at most this many, or whatever arrived
    # within `batch_within_s`: one table write per device per batch.
    batch_max: int = field(
        default_factory=lambda: int(env_float("TRACKFLOW_STREAMS_BATCH_MAX", 5000))
    )
    batch_within_s: float = field(
        default_factory=lambda: env_float("TRACKFLOW_STREAMS_BATCH_WITHIN_S", 0.2)
    )
    # A worker that dies without leaving the group (SIGKILL, lost host) holds
    # its partitions this long before the others take them over.
    group_session_timeout_s: float = field(
        default_factory=lambda: env_float("TRACKFLOW_STREAMS_GROUP_TIMEOUT_S", 30.0)
    )
    # A batch's outputs must be confirmed by Kafka within this time, or the
    # worker stops (and is restarted) rather than record progress it lacks.
    delivery_timeout_s: float = 60.0

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.topic_prefix)

    @property
    def app_id(self) -> str:
        return f"{self.settings.topic_prefix}-streams"

    @property
    def ticks_topic(self) -> str:
        """Internal: each worker's clock ticks, one partition per raw partition."""
        return f"{self.settings.topic_prefix}.streams-ticks"

    @property
    def ops_topic(self) -> str:
        """Internal: profile and group changes keyed by profile or group id."""
        return f"{self.settings.topic_prefix}.streams-profile-ops"
