from __future__ import annotations

import logging

import pytest

from trackflow.logthrottle import Throttle


def test_repeats_are_held_back_then_counted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr("trackflow.logthrottle.time.monotonic", lambda: clock[0])
    logger = logging.getLogger("test.throttle")
    logger.addFilter(Throttle(interval_s=10))

    with caplog.at_level(logging.INFO, logger="test.throttle"):
        for _ in range(50):
            logger.error("cannot reach node %s", 1)
        logger.error("another problem")
        clock[0] += 11
        logger.error("cannot reach node %s", 1)

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "cannot reach node 1",
        "another problem",
        "cannot reach node 1 (and 49 more like it in the last 11 s)",
    ]
