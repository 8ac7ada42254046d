"""When each device next has a session to end or forget, per partition.

A tick asks for the devices due by its time; that costs the number of due
devices (plus stale heap entries), not the number of devices held.
"""

from __future__ import annotations

import heapq


class DueIndex:
    def __init__(self) -> None:
        self._due_ms: dict[int, dict[bytes, int]] = {}
        self._heaps: dict[int, list[tuple[int, bytes]]] = {}

    def clear(self) -> None:
        self._due_ms.clear()
        self._heaps.clear()

    def __len__(self) -> int:
        return sum(len(due) for due in self._due_ms.values())

    def set(self, partition: int, key: bytes, due_ms: int | None) -> None:
        due = self._due_ms.setdefault(partition, {})
        if due_ms is None:
            due.pop(key, None)
            return
        if due.get(key) == due_ms:
            return
        due[key] = due_ms
        heap = self._heaps.setdefault(partition, [])
        heapq.heappush(heap, (due_ms, key))
        if len(heap) > 2 * len(due) + 1024:
            # Drop the entries that later writes made stale.
            self._heaps[partition] = [(ms, k) for k, ms in due.items()]
            heapq.heapify(self._heaps[partition])

    def pop_due(self, partition: int, now_ms: int) -> list[bytes]:
        """The keys due at `now_ms`, removed; the caller sets them again."""
        due = self._due_ms.get(partition, {})
        heap = self._heaps.get(partition, [])
        keys = []
        while heap and heap[0][0] <= now_ms:
            due_ms, key = heapq.heappop(heap)
            if due.get(key) == due_ms:
                del due[key]
                keys.append(key)
        return keys
