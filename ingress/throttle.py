"""Warnings for things that come in floods (bad payloads, Kafka trouble)."""

from __future__ import annotations

import logging
import time


class Throttled:
    """At most one warning per `interval_s`; says how many it held back."""

    def __init__(self, log: logging.Logger, interval_s: float) -> None:
        self._log = log
        self._interval_s = interval_s
        self._next = 0.0
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        self._log.warning(message + " held_back=%d", *args, self._held)
        self._held = 0
        self._next = now + self._interval_s
