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
from datetime import date, timedelta

from ingress.registry import Registry

# How many recently seen derived ids a worker remembers to recognise the
# previous day's salt; a device that falls out of it gets today's id.
RECENT_DEVICES = 200_000
DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)


def derive(user_agent: str, ip: str, project_id: str, salt: str) -> str:
    data = f"{user_agent}:{ip}:{project_id}:{salt}".encode("utf-8", "surrogatepass")
    return hashlib.shake_256(data).hexdigest(16)


class DeviceIds:
    """Derives device ids with the current salt, recognising the previous one.

    Salts are read from the registry by `prefetch` (blocking: run it off the
    event loop, as the app does every minute, so tomorrow's salt is there
    before midnight); `device_id` falls back to reading the registry itself
    only when a day's salt was not prefetched.
    """

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._salts: dict[int, str] = {}
        # derived id -> last time it was used, in Unix ms, oldest first
        self._recent: OrderedDict[str, int] = OrderedDict()

    def _salt(self, day: int) -> str:
        salt = self._salts.get(day)
        if salt is None:
            iso = (EPOCH + timedelta(days=day)).isoformat()
            salt = self._salts[day] = self._registry.salt_for_day(iso)
        return salt

    def prefetch(self, now_ms: int) -> None:
        today = now_ms // DAY_MS
        for day in (today - 1, today, today + 1):
            self._salt(day)
        for day in [day for day in self._salts if day < today - 1]:
            del self._salts[day]

    def salts(self, now_ms: int) -> tuple[str, str]:
        """(current, previous) salts for the UTC day of `now_ms`."""
        today = now_ms // DAY_MS
        return self._salt(today), self._salt(today - 1)

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
