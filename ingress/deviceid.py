"""The device id of a client that sends none, derived as OpenPanel derives it.

    device_id = hex(shake256("{user_agent}:{ip}:{project_id}:{salt}", 16 bytes))

The salt is a random 16-byte hex string per UTC day, kept in the registry so
every worker and restart uses the same one. The previous day's salt is still
recognised: a device seen recently under yesterday's id keeps that id after
midnight, so its session does not split at the rotation.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from ingress.registry import Registry

# How many recently seen derived ids a worker remembers to recognise the
# previous day's salt; a device that falls out of it gets today's id.
RECENT_DEVICES = 200_000


def derive(user_agent: str, ip: str, project_id: str, salt: str) -> str:
    data = f"{user_agent}:{ip}:{project_id}:{salt}".encode("utf-8", "surrogatepass")
    return hashlib.shake_256(data).hexdigest(16)


class DeviceIds:
    """Derives device ids with the current salt, recognising the previous one."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._day = ""
        self._current = ""
        self._previous = ""
        # derived id -> last time it was used, in Unix ms, oldest first
        self._recent: OrderedDict[str, int] = OrderedDict()

    def salts(self, now_ms: int) -> tuple[str, str]:
        """(current, previous) salts for the UTC day of `now_ms`."""
        today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
        day = today.isoformat()
        if day != self._day:
            yesterday = (today - timedelta(days=1)).isoformat()
            self._current = self._registry.salt_for_day(day)
            self._previous = self._registry.salt_for_day(yesterday)
            self._day = day
        return self._current, self._previous

    def device_id(
        self, user_agent: str, ip: str, project_id: str, now_ms: int, session_timeout_ms: int
    ) -> str:
        current_salt, previous_salt = self.salts(now_ms)
        current = derive(user_agent, ip, project_id, current_salt)
        chosen = current
        if current not in self._recent:
            previous = derive(user_agent, ip, project_id, previous_salt)
            seen_ms = self._recent.get(previous)
            if seen_ms is not None and now_ms - seen_ms <= session_timeout_ms:
                chosen = previous
        self._remember(chosen, now_ms)
        return chosen

    def _remember(self, device_id: str, now_ms: int) -> None:
        self._recent[device_id] = now_ms
        self._recent.move_to_end(device_id)
        if len(self._recent) > RECENT_DEVICES:
            self._recent.popitem(last=False)


def now_ms() -> int:
    return int(time.time() * 1000)
