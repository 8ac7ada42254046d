"""One record read from Kafka, whichever consumer read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def from_faust(cls, event: Any) -> Incoming:
        message = event.message
        return cls(message.topic, message.partition, message.offset, message.key, message.value)
