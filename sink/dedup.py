"""The id guard: the sink never writes two rows with the same dedup key.

A record reaches the sink twice in two ways:

1. the sink restarts after an insert and before the offset commit, and Kafka
   delivers the same records (same partition and offset) again;
2. a stream worker restarts after a crash and emits the same record again
   (same deterministic id, a later offset of the same partition, since the
   key and so the partition are the same).

Both are caught here. Per (topic, partition) the guard holds the dedup keys
(`Table.dedup_key_sql`) of the rows written from the last
`window_offsets` offsets. When the sink is assigned a partition it resumes at
the committed offset and seeds the guard from ClickHouse with the keys of
the rows stored from `committed - window_offsets` on (`sink/resume.py`), so
case 1 is caught in full whatever the sink's crash point, and case 2 as long
as the copy comes within `window_offsets` offsets of the original.
"""

from __future__ import annotations

from collections import deque


class PartitionGuard:
    def __init__(self, window_offsets: int) -> None:
        self.window_offsets = window_offsets
        self._keys: set[str] = set()
        self._order: deque[tuple[int, str]] = deque()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, offset: int, key: str) -> None:
        """Records a written row; forgets rows older than the window."""
        if key in self._keys:
            return
        self._keys.add(key)
        self._order.append((offset, key))
        oldest = offset - self.window_offsets
        while self._order and self._order[0][0] < oldest:
            self._keys.discard(self._order.popleft()[1])
