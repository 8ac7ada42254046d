"""Names of every Kafka topic trackflow reads or writes.

The record format of each is written down in `schemas/kafka/`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The largest record any trackflow producer sends: the broker's
# `message.max.bytes` (scripts/stack and docker-compose.yml set 16 MiB). The
# ingress accepts a body of 10 MiB, so every record derived from one event fits.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Topics:
    prefix: str = "trackflow"

    @property
    def raw_events(self) -> str:
        """Written by the ingress, keyed `project_id:device_id`."""
        return f"{self.prefix}.events.raw"

    @property
    def events(self) -> str:
        """Sessionized events, with the emitted session_start/session_end."""
        return f"{self.prefix}.events"

    @property
    def sessions(self) -> str:
        return f"{self.prefix}.sessions"

    @property
    def profiles(self) -> str:
        return f"{self.prefix}.profiles"

    @property
    def groups(self) -> str:
        return f"{self.prefix}.groups"

    @property
    def replay_chunks(self) -> str:
        return f"{self.prefix}.replay-chunks"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter"

    def outputs(self) -> list[str]:
        """The stream processor's output topics, which the sink consumes."""
        return [self.events, self.sessions, self.profiles, self.groups, self.replay_chunks]


def record_key(project_id: str, device_id: str) -> str:
    """Key of a raw event: one device's events always go to one partition."""
    return f"{project_id}:{device_id}"
