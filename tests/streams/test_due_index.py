"""The index of devices due for a tick (`streams.due_index`)."""

from __future__ import annotations

from streams.due_index import DueIndex


def test_pop_due_returns_only_current_entries_due_by_then() -> None:
    index = DueIndex()
    index.set(0, b"a", 100)
    index.set(0, b"b", 300)
    index.set(0, b"a", 200)  # moved later: the entry at 100 is stale
    index.set(1, b"c", 50)
    index.set(0, b"gone", 10)
    index.set(0, b"gone", None)

    assert index.pop_due(0, 150) == []
    assert index.pop_due(0, 250) == [b"a"]
    assert index.pop_due(0, 250) == []
    assert index.pop_due(1, 1_000) == [b"c"]
    assert len(index) == 1


def test_stale_entries_are_compacted() -> None:
    index = DueIndex()
    for due_ms in range(5_000):
        index.set(0, b"k", due_ms)
    assert len(index._heaps[0]) <= 2 * 1 + 1024 + 1
    assert index.pop_due(0, 10_000) == [b"k"]
