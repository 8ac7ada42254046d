"""Making a Faust table write land in the partition of the device it concerns.

A Faust table puts a write into the changelog partition (and the RocksDB
partition store) of the *current event*. A batch from `take_events` mixes
partitions, so before touching a device's entry we make one of that
partition's events current.

XXX: uses Faust's private `_current_event` context variable; it can go when
Faust offers a public way to write a table for a given partition.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust import streams as faust_streams


@contextmanager
def event_context(event: Any) -> Iterator[None]:
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)
