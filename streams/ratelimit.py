"""A warning logged at most once per interval, with how many it stands for."""

from __future__ import annotations

import logging
import time


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, what: str, interval_s: float) -> None:
        self._logger = logger
        self._what = what
        self._interval_s = interval_s
        self._last_s = 0.0
        self._suppressed = 0

    def warn(self, message: str, *args: object, exc_info: BaseException | None = None) -> None:
        now_s = time.monotonic()
        if now_s - self._last_s < self._interval_s:
            self._suppressed += 1
            return
        self._logger.warning(
            f"{self._what}: {message} (+%d more since last)",
            *args,
            self._suppressed,
            exc_info=exc_info,
        )
        self._last_s = now_s
        self._suppressed = 0
