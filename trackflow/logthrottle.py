"""A logging filter that lets a repeated message through once per interval.

A dependency that is down (Kafka restarting, say) makes client libraries log
the same line many times a second; operators need to see it once, then how
often it repeated, not thousands of copies burying everything else.
"""

from __future__ import annotations

import logging
import time


class Throttle(logging.Filter):
    def __init__(self, interval_s: float = 10.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        # message template -> (last time let through, copies held back since)
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        last, held = self._seen.get(key, (0.0, 0))
        if now - last < self.interval_s:
            self._seen[key] = (last, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {now - last:.0f} s)"
        self._seen[key] = (now, 0)
        return True


def throttle(*logger_names: str, interval_s: float = 10.0) -> None:
    """Throttle the named loggers (and their children's records passing through them)."""
    for name in logger_names:
        logging.getLogger(name).addFilter(Throttle(interval_s))
