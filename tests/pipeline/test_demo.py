"""The README's first command runs `trackflow demo`; this runs the same code
on a smaller slice of the data and checks that its summary is right."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tests.pipeline.harness import RunningPipeline
from trackflow.demo import datasets, summary
from trackflow.demo.main import DemoPlan, run_demo

pytestmark = pytest.mark.pipeline


def test_demo_on_a_slice(shared_pipeline: RunningPipeline) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    plan = DemoPlan(sensors=2, hosts=25, settle_timeout_s=180)

    report = run_demo(shared_pipeline.settings, shared_pipeline.url, plan, console)
    summary.render(report, shared_pipeline.settings, console)
    text = out.getvalue()

    assert report.settled, text
    web = report.replays["web"]
    assert web.sent > 0
    assert web.accepted == web.sent  # the log is shifted into the window
    accepted = web.accepted
    if datasets.aarhus_paths():
        iot = report.replays["iot"]
        assert iot.sent > 2 * 7 * 200  # two sensors, a week of 5-minute readings
        rejected = sum(iot.rejected.values())
        assert iot.accepted + rejected == iot.sent
        assert rejected > 0  # the oldest two days are outside the 5-day window
        assert all(reason == "validation" and "window" in error for reason, error in iot.rejected)
        accepted += iot.accepted

    assert report.stored_events == accepted
    assert report.session_starts == report.sessions > 0
    assert sum(n for _, n in report.sessions_by_day) == report.sessions
    assert report.sessions_by_kind.get("historical", 0) > 0
    assert report.sessions_by_kind.get("live", 0) > 0
    assert sum(report.sessions_by_kind.values()) == report.sessions
    assert "session_start events" in text and "equal" in text
